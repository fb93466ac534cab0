"""Triage business logic: decide, build the model request, ask the chain, apply review policy.

Around the model call it applies what every feature needs: the flags' decision for this tenant
(kill switch, prompt label, model, shadow), the response cache, the tenant's token quota, the
call context metering records on every span, ledger row and log line, the record of the answer
(for feedback and human review), and the shadow run after the response.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

import structlog
from pydantic_core import from_json

from ..cache import CacheMode, ResponseCache, cache_key, normalise
from ..costs.pricing import to_nano_usd
from ..database.writer import RowWriter
from ..flags.features import FeatureDecision, FeatureDisabledError, FeatureFlags
from ..llm.deadline import Deadline
from ..llm.fallback import FallbackChain, Served
from ..llm.port import ModelRequest, TextDelta
from ..llm.tokens import request_tokens
from ..metering import DEFAULT_MAX_OUTPUT_TOKENS, CallContext, Metering
from ..prompts import Prompt, PromptCatalog, PromptError
from ..rate_limits import TenantRateLimiter
from ..review.rows import AnswerRow
from ..settings import CLASSICAL_MODEL
from ..shadow.runner import ShadowRunner
from .requests import fit, render
from .schemas import TriageRequest, TriageResponse, TriageResult
from .shadow import LiveAnswer, TriageShadow

FEATURE = "triage"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SummaryProgress:
    """The summary so far, while a streamed answer arrives."""

    summary: str


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one request will be answered: the prompt, the model asked first, the context."""

    prompt: Prompt
    first: str | None
    call: CallContext
    decision: FeatureDecision


@dataclass(frozen=True, slots=True)
class TriageService:
    """Triage tickets with a chain of models, prompts chosen by label, flags per tenant."""

    models: FallbackChain
    catalog: PromptCatalog
    flags: FeatureFlags
    review_threshold: float
    metering: Metering
    rate_limiter: TenantRateLimiter
    cache: ResponseCache
    writer: RowWriter
    shadow: ShadowRunner
    shadow_jobs: TriageShadow
    feature_off: Literal["problem", "classical"]

    async def triage(
        self,
        ticket: TriageRequest,
        deadline: Deadline,
        *,
        tenant: str,
        request_id: str | None,
        cache_mode: CacheMode = "use",
    ) -> TriageResponse:
        """Classify `ticket`; answers under the confidence threshold go to a human."""
        started = time.perf_counter()
        plan = self._plan(tenant, request_id)
        key = self._cache_key(plan, ticket)
        cached = await self.cache.lookup(key, cache_mode, FEATURE)
        if cached is not None:
            answer = TriageResponse.model_validate_json(cached)
            answer = answer.model_copy(update={"cached": True, "degraded": False})
            self.metering.cache_hit(plan.call, answer.model, _elapsed_ms(started))
            self._record(plan.call, ticket, answer)
            return answer
        request = render(plan.prompt, ticket.subject, ticket.body)
        await self._admit_tokens(request, tenant)
        served = await self.models.generate(
            partial(fit, plan.prompt, ticket, request),
            TriageResult,
            observer=self.metering.for_request(plan.call),
            deadline=deadline,
            input_chars=_input_chars(ticket),
            first=plan.first,
        )
        answer = self._respond(plan, served)
        if not served.degraded:
            await self.cache.save(key, answer.model_dump_json().encode(), cache_mode)
        self._record(plan.call, ticket, answer)
        self._maybe_shadow(plan, ticket, answer, served, _elapsed_ms(started))
        return answer

    async def triage_stream(
        self, ticket: TriageRequest, deadline: Deadline, *, tenant: str, request_id: str | None
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        """Like `triage`, reporting the summary as it is written, then the full answer.

        Flags and the token quota are checked before the stream is returned, so a refusal is
        still an HTTP status. Streams are not cached: their point is the model writing live.
        """
        started = time.perf_counter()
        plan = self._plan(tenant, request_id)
        request = render(plan.prompt, ticket.subject, ticket.body)
        await self._admit_tokens(request, tenant)
        return self._stream(plan, ticket, request, deadline, started)

    async def _stream(
        self,
        plan: _Plan,
        ticket: TriageRequest,
        request: ModelRequest,
        deadline: Deadline,
        started: float,
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        answer = ""
        summary = ""
        events = self.models.stream(
            partial(fit, plan.prompt, ticket, request),
            TriageResult,
            observer=self.metering.for_request(plan.call),
            deadline=deadline,
            input_chars=_input_chars(ticket),
            first=plan.first,
        )
        async for event in events:
            if isinstance(event, TextDelta):
                answer += event.text
                partial_summary = _partial_summary(answer)
                if partial_summary and partial_summary != summary:
                    summary = partial_summary
                    yield SummaryProgress(summary)
            else:
                response = self._respond(plan, event)
                self._record(plan.call, ticket, response)
                self._maybe_shadow(plan, ticket, response, event, _elapsed_ms(started))
                yield response

    def _plan(self, tenant: str, request_id: str | None) -> _Plan:
        """Ask the flags, then pick the prompt and the first model they decided on."""
        decision = self.flags.decide(FEATURE, tenant)
        first: str | None = None
        if not decision.enabled:
            if self.feature_off == "problem":
                raise FeatureDisabledError(FEATURE)
            first = CLASSICAL_MODEL
        elif decision.model is not None:
            if self.models.knows(decision.model):
                first = decision.model
            else:
                log.warning("flag_model_unknown", feature=FEATURE, model=decision.model)
        try:
            prompt = self.catalog.get(FEATURE, decision.prompt_label)
        except PromptError as exc:
            log.warning("flag_label_unknown", feature=FEATURE, error=str(exc))
            prompt = self.catalog.get(FEATURE, "production")
        call = CallContext(tenant, FEATURE, prompt.ref, request_id)
        return _Plan(prompt, first, call, decision)

    async def _admit_tokens(self, request: ModelRequest, tenant: str) -> None:
        """Count the call's worst-case tokens against the tenant's per-minute token quota."""
        output = request.settings.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
        await self.rate_limiter.admit_tokens(tenant, request_tokens(request.messages) + output)

    def _cache_key(self, plan: _Plan, ticket: TriageRequest) -> str:
        """Prompt version, the model that would answer first, its parameters, and the input."""
        settings = plan.prompt.settings
        return cache_key(
            (
                plan.prompt.ref,
                plan.first or self.models.primary(_input_chars(ticket)),
                repr((settings.temperature, settings.max_output_tokens)),
                normalise(ticket.subject),
                normalise(ticket.body),
            )
        )

    def _respond(self, plan: _Plan, served: Served[TriageResult]) -> TriageResponse:
        result = served.output
        return TriageResponse(
            category=result.category,
            priority=result.priority,
            summary=result.summary,
            needs_human=result.needs_human or result.confidence < self.review_threshold,
            confidence=result.confidence,
            model=served.model,
            prompt_version=plan.prompt.ref,
            degraded=served.degraded or not plan.decision.enabled,
            cached=False,
        )

    def _record(self, call: CallContext, ticket: TriageRequest, answer: TriageResponse) -> None:
        """The answer and its inputs, for feedback; flagged answers join the review queue."""
        self.writer.record(
            AnswerRow(
                created_at=dt.datetime.now(dt.UTC),
                request_id=call.request_id or "",
                tenant=call.tenant,
                feature=FEATURE,
                prompt_version=answer.prompt_version,
                model=answer.model,
                inputs=ticket.model_dump(mode="json"),
                output=answer.model_dump(mode="json"),
                confidence=answer.confidence,
                review_status="pending" if answer.needs_human else "none",
            )
        )

    def _maybe_shadow(
        self,
        plan: _Plan,
        ticket: TriageRequest,
        answer: TriageResponse,
        served: Served[TriageResult],
        latency_ms: float,
    ) -> None:
        shadow = plan.decision.shadow
        if shadow is None or random.random() >= shadow.sample_rate:  # noqa: S311 - sampling
            return
        price = self.metering.prices.cost(served.model, served.response.usage)
        live = LiveAnswer(answer, latency_ms, to_nano_usd(price) if price is not None else None)
        self.shadow.submit(FEATURE, self.shadow_jobs.job(shadow, ticket, live, plan.call))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _input_chars(ticket: TriageRequest) -> int:
    return len(ticket.subject) + len(ticket.body)


def _partial_summary(answer: str) -> str:
    """The summary field of an incomplete JSON answer, as far as it has arrived."""
    try:
        parsed = from_json(answer, allow_partial="trailing-strings")
    except ValueError:
        return ""
    summary = parsed.get("summary") if isinstance(parsed, dict) else None
    return summary if isinstance(summary, str) else ""
