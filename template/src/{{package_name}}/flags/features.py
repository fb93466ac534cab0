"""What the flags decide for one request of one feature and one tenant.

Each feature has four flags, all optional (a missing flag means its default):

- `<feature>.enabled` (boolean, default `true`): the kill switch.
- `<feature>.prompt-label` (string, default `production`): the label, hence the prompt version.
- `<feature>.model` (string, default `""`): a `provider:model` to ask before the primary.
- `<feature>.shadow` (object, default `{}`): a candidate run after the response, as
  `{"prompt_label": "canary", "model": "…", "sample_rate": 0.1}`.

The evaluation context is the tenant (the targeting key, so `fractional` rollouts are sticky per
tenant) with its configured attributes (e.g. `tier`, `region`) for targeting rules.

Decisions are kept per feature and tenant until the flag file changes or the second turns.
flagd's targeting sees only the flags, the context and the current second (`$flagd.timestamp`),
so within those an evaluation gives the same answer; evaluating four flags through OpenFeature
on every request cost about a twentieth of the service's CPU.

`check_feature_flags` refuses a file whose variants do not fit these flags (a kill switch whose
variants are the strings "true" and "false" would otherwise never switch anything off). A flag
that fails to evaluate anyway (a rule naming a variant that does not exist) serves its default,
and says so in the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagEvaluationDetails
from openfeature.provider.no_op_provider import NoOpProvider
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .file_provider import FlagFileProvider

log = structlog.get_logger(__name__)

DEFAULT_LABEL = "production"

T = TypeVar("T")

_Version = tuple[str | None, int]
"""The flag file's digest and the second a decision was made in."""


class FeatureDisabledError(Exception):
    """A feature's kill switch is off and the policy is to say so: a 503 problem."""

    def __init__(self, feature: str) -> None:
        super().__init__(f"the {feature} feature is switched off")
        self.feature = feature


class ShadowPlan(BaseModel):
    """A candidate to run on a sampled share of requests, after their response is sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_label: str | None = None
    model: str | None = None
    sample_rate: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _names_a_candidate(self) -> ShadowPlan:
        if not (self.prompt_label or self.model):
            raise ValueError("a shadow needs a prompt_label, a model, or both")
        return self


@dataclass(frozen=True, slots=True)
class FeatureDecision:
    """The flags' answer for one request."""

    enabled: bool
    prompt_label: str = DEFAULT_LABEL
    model: str | None = None
    shadow: ShadowPlan | None = None


class FeatureFlags:
    """Evaluates a feature's flags through OpenFeature, for a tenant and its attributes."""

    def __init__(
        self,
        provider: FlagFileProvider,
        tenant_attributes: Mapping[str, Mapping[str, str]],
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        # A domain of its own, so several apps in one process (tests) keep separate providers.
        self._domain = f"flags-{id(self)}"
        api.set_provider(provider, self._domain)
        self._client = api.get_client(self._domain)
        self._provider = provider
        self._attributes = tenant_attributes
        self._wall_clock = wall_clock
        self._contexts: dict[str, EvaluationContext] = {}
        self._decisions: dict[tuple[str, str], tuple[_Version, FeatureDecision]] = {}

    def decide(self, feature: str, tenant: str) -> FeatureDecision:
        """The feature's flags for `tenant`; a flag that fails to evaluate is unset."""
        self._provider.refresh()
        version = (self._provider.digest, int(self._wall_clock()))
        kept = self._decisions.get((feature, tenant))
        if kept is not None and kept[0] == version:
            return kept[1]
        decision = self._evaluate(feature, tenant)
        self._decisions[feature, tenant] = (version, decision)
        return decision

    def _evaluate(self, feature: str, tenant: str) -> FeatureDecision:
        context = self._context(tenant)
        client = self._client
        if not _value(client.get_boolean_details(f"{feature}.enabled", True, context)):
            return FeatureDecision(enabled=False)
        label = _value(client.get_string_details(f"{feature}.prompt-label", DEFAULT_LABEL, context))
        model = _value(client.get_string_details(f"{feature}.model", "", context))
        shadow = _value(client.get_object_details(f"{feature}.shadow", {}, context))
        return FeatureDecision(
            enabled=True,
            prompt_label=label or DEFAULT_LABEL,
            model=model or None,
            shadow=_shadow_plan(feature, shadow),
        )

    def shutdown(self) -> None:
        """Release the file provider; OpenFeature's registry keeps only a no-op in its place."""
        api.set_provider(NoOpProvider(), self._domain)
        self._provider.shutdown()

    def _context(self, tenant: str) -> EvaluationContext:
        context = self._contexts.get(tenant)
        if context is None:
            attributes = dict(self._attributes.get(tenant, {}))
            attributes["tenant"] = tenant
            context = EvaluationContext(targeting_key=tenant, attributes=attributes)
            self._contexts[tenant] = context
        return context


FLAG_TYPES: Mapping[str, tuple[type, str]] = {
    "enabled": (bool, "true or false"),
    "prompt-label": (str, "strings"),
    "model": (str, "strings"),
    "shadow": (dict, "objects"),
}
"""What the variants of each flag (by the part of its key after the feature) must be."""


def check_feature_flags(flags: Mapping[str, Any]) -> None:
    """Refuse variants a feature flag cannot use, naming the flag: a `FlagCheck`."""
    for key, flag in flags.items():
        feature, _, kind = key.rpartition(".")
        expected = FLAG_TYPES.get(kind)
        variants = flag.get("variants") if isinstance(flag, dict) else None
        if not feature or expected is None or not isinstance(variants, dict):
            continue
        value_type, described = expected
        for name, value in variants.items():
            if not isinstance(value, value_type):
                raise ValueError(f"{key}: variant {name!r} is {value!r}; expected {described}")
            if kind == "shadow" and value:
                try:
                    ShadowPlan.model_validate(value)
                except ValidationError as exc:
                    problems = "; ".join(
                        f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
                        if error["loc"]
                        else error["msg"]
                        for error in exc.errors()
                    )
                    raise ValueError(f"{key}: variant {name!r}: {problems}") from exc


def _value(details: FlagEvaluationDetails[T]) -> T:
    """The evaluated value; an evaluation error (the default is served instead) is logged."""
    if details.error_code not in (None, ErrorCode.FLAG_NOT_FOUND):
        log.warning(
            "flag_evaluation_failed",
            flag=details.flag_key,
            error_code=str(details.error_code),
            error=details.error_message,
        )
    return details.value


def _shadow_plan(feature: str, value: Any) -> ShadowPlan | None:
    if not value:
        return None
    try:
        return ShadowPlan.model_validate(value)
    except ValidationError as exc:
        log.warning("shadow_flag_invalid", feature=feature, error=str(exc))
        return None
