"""What the flags decide for one request of one feature and one tenant.

Each feature has four flags, all optional (a missing flag means its default):

- `<feature>.enabled` (boolean, default `true`): the kill switch.
- `<feature>.prompt-label` (string, default `production`): the label, hence the prompt version.
- `<feature>.model` (string, default `""`): a `provider:model` to ask before the primary.
- `<feature>.shadow` (object, default `{}`): a candidate run after the response, as
  `{"prompt_label": "canary", "model": "…", "sample_rate": 0.1}`.

The evaluation context is the tenant (the targeting key, so `fractional` rollouts are sticky per
tenant) with its configured attributes (e.g. `tier`, `region`) for targeting rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.provider.no_op_provider import NoOpProvider
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .file_provider import FlagFileProvider

log = structlog.get_logger(__name__)

DEFAULT_LABEL = "production"


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
        self, provider: FlagFileProvider, tenant_attributes: Mapping[str, Mapping[str, str]]
    ) -> None:
        # A domain of its own, so several apps in one process (tests) keep separate providers.
        self._domain = f"flags-{id(self)}"
        api.set_provider(provider, self._domain)
        self._client = api.get_client(self._domain)
        self._provider = provider
        self._attributes = tenant_attributes
        self._contexts: dict[str, EvaluationContext] = {}

    def decide(self, feature: str, tenant: str) -> FeatureDecision:
        """Evaluate the feature's flags for `tenant`; a flag that fails to evaluate is unset."""
        context = self._context(tenant)
        client = self._client
        if not client.get_boolean_value(f"{feature}.enabled", True, context):
            return FeatureDecision(enabled=False)
        label = client.get_string_value(f"{feature}.prompt-label", DEFAULT_LABEL, context)
        model = client.get_string_value(f"{feature}.model", "", context)
        shadow = client.get_object_value(f"{feature}.shadow", {}, context)
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


def _shadow_plan(feature: str, value: Any) -> ShadowPlan | None:
    if not value:
        return None
    try:
        return ShadowPlan.model_validate(value)
    except ValidationError as exc:
        log.warning("shadow_flag_invalid", feature=feature, error=str(exc))
        return None
