"""How one request of a feature will be answered, decided before any model is asked.

The flags' decision for the tenant turns the feature off (a problem, or the classical model,
as configured) or picks the prompt by label and the model to ask first. The prompt-injection
policy decides what the model may see of the request, and whether its answer goes to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import structlog
from pydantic import BaseModel

from ..feature import Feature
from ..flags.features import DEFAULT_LABEL, FeatureDecision, FeatureDisabledError, FeatureFlags
from ..guardrails.injection_policy import InjectionPolicy
from ..llm.tenant_chains import TenantChains
from ..metering import CallContext
from ..prompts import Prompt, PromptCatalog, PromptError
from ..settings import CLASSICAL_MODEL

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Plan:
    """The prompt, the model asked first (None: the chain's own order), the context metering
    records, the flags' decision, and whether the injection policy sends the answer to review."""

    prompt: Prompt
    first: str | None
    call: CallContext
    decision: FeatureDecision
    flagged: bool


@dataclass(frozen=True, slots=True)
class Planner:
    """Plans one feature's requests from the flags, the prompt catalog and the injection
    policy."""

    feature: Feature
    chains: TenantChains
    catalog: PromptCatalog
    flags: FeatureFlags
    feature_off: Literal["problem", "classical"]
    injection: InjectionPolicy

    def plan(
        self, received: BaseModel, tenant: str, request_id: str | None
    ) -> tuple[dict[str, str], Plan]:
        """The request's fields as the model may see them (the prompt's variables), and the
        plan for answering it.

        Raises `FeatureDisabledError` when the flags turn the feature off and it is configured
        to refuse, and `InjectionBlockedError` when the injection policy blocks the request.
        """
        name = self.feature.name
        decision = self.flags.decide(name, tenant)
        first = self._first_model(decision, tenant)
        prompt = self._prompt(decision.prompt_label)
        fields = text_fields(received)
        screening = self.injection.screen(name, fields)
        seen = {**fields, **screening.fields}
        call = CallContext(tenant, name, prompt.ref, request_id)
        return seen, Plan(prompt, first, call, decision, flagged=screening.flagged)

    def _first_model(self, decision: FeatureDecision, tenant: str) -> str | None:
        if not decision.enabled:
            if self.feature_off == "problem":
                raise FeatureDisabledError(self.feature.name)
            return CLASSICAL_MODEL
        if decision.model is None:
            return None
        if self.chains.for_tenant(tenant).knows(decision.model):
            return decision.model
        log.warning("flag_model_unknown", feature=self.feature.name, model=decision.model)
        return None

    def _prompt(self, label: str) -> Prompt:
        """The prompt the flag's label serves; the default label's when it is unknown."""
        try:
            return self.catalog.get(self.feature.name, label)
        except PromptError as exc:
            log.warning("flag_label_unknown", feature=self.feature.name, error=str(exc))
            return self.catalog.get(self.feature.name, DEFAULT_LABEL)


def text_fields(request: BaseModel) -> dict[str, str]:
    """A request's fields by name: all text (the feature contract checks), in schema order."""
    return {name: getattr(request, name) for name in type(request).model_fields}
