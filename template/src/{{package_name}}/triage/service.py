"""Triage business logic: plan, build the model request, ask the chain, apply review policy.

Around the model call it applies what every feature needs: the plan (the flags' decision for
this tenant and the prompt-injection policy, in `plan.py`), the response cache, the tenant's token
quota, the call context metering records on every span, ledger row and log line, the output
guardrails, the record of the answer (for feedback and human review), and the shadow run after
the response.

An answer the output guardrails block is replaced by the classical model's answer; so is one a
model declined to finish streaming. Answers served after a refusal or a block are marked
`degraded` and sent to human review (`needs_human`). When the classical model's own answer is
blocked, the request fails with `OutputBlockedError` (a 422 problem).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from functools import partial

from ..cache import CacheMode, ResponseCache, cache_key, normalise
from ..costs.pricing import to_nano_usd
from ..database.writer import RowWriter
from ..guardrails.output import OutputGuard
from ..llm.deadline import Deadline
from ..llm.errors import EveryModelRefusedError, ModelRefusalError
from ..llm.fallback import Served
from ..llm.port import ModelRequest, TextDelta
from ..llm.tenant_chains import TenantChains
from ..llm.tokens import request_tokens
from ..metering import DEFAULT_MAX_OUTPUT_TOKENS, CallContext, Metering
from ..rate_limits import TenantRateLimiter
from ..settings import CLASSICAL_MODEL
from ..shadow.runner import ShadowRunner
from . import FEATURE
from .answers import answer_row, with_summary
from .plan import Plan, TriagePlanner
from .requests import fit, render
from .schemas import TriageRequest, TriageResponse, TriageResult
from .shadow import LiveAnswer, TriageShadow
from .streaming import SummaryProgress, has_summary, partial_summary


@dataclass(frozen=True, slots=True)
class TriageService:
    """Triage tickets with a chain of models, prompts chosen by label, flags per tenant."""

    planner: TriagePlanner
    chains: TenantChains
    review_threshold: float
    metering: Metering
    rate_limiter: TenantRateLimiter
    cache: ResponseCache
    writer: RowWriter
    shadow: ShadowRunner
    shadow_jobs: TriageShadow
    output_guard: OutputGuard

    async def triage(
        self,
        ticket: TriageRequest,
        deadline: Deadline,
        *,
        tenant: str,
        request_id: str | None,
        cache_mode: CacheMode = "use",
    ) -> TriageResponse:
        """Classify `ticket`; answers under the confidence threshold go to a human.

        The model sees the ticket as the injection policy lets it through (`seen`); the answer
        record keeps the ticket as received, for reviewers and exported eval cases."""
        started = time.perf_counter()
        seen, plan = self.planner.plan(ticket, tenant, request_id)
        key = self._cache_key(plan, seen)
        cached = await self.cache.lookup(key, cache_mode, FEATURE)
        if cached is not None:
            answer = TriageResponse.model_validate_json(cached)
            answer = answer.model_copy(
                update={
                    "cached": True,
                    "degraded": False,
                    "needs_human": answer.needs_human or plan.flagged,
                }
            )
            self.metering.cache_hit(plan.call, answer.model, _elapsed_ms(started))
            self._record(plan.call, ticket, answer)
            return answer
        request = render(plan.prompt, seen.subject, seen.body)
        await self._admit_tokens(request, tenant)
        try:
            served = await self._generate(plan, seen, request, deadline, plan.first)
        except EveryModelRefusedError:
            self.output_guard.refused(feature=FEATURE, answered_by=None)
            raise
        guarded = self._guarded(plan, request, served)
        if guarded is None:
            answer = await self._replacement(plan, seen, request, deadline)
        else:
            answer = guarded
            if not served.degraded:
                await self.cache.save(key, answer.model_dump_json().encode(), cache_mode)
            self._maybe_shadow(plan, seen, answer, served, _elapsed_ms(started))
        self._record(plan.call, ticket, answer)
        return answer

    async def triage_stream(
        self, ticket: TriageRequest, deadline: Deadline, *, tenant: str, request_id: str | None
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        """Like `triage`, reporting the summary as it is written, then the full answer.

        Flags and the token quota are checked before the stream is returned, so a refusal is
        still an HTTP status. Streams are not cached: their point is the model writing live.
        """
        started = time.perf_counter()
        seen, plan = self.planner.plan(ticket, tenant, request_id)
        request = render(plan.prompt, seen.subject, seen.body)
        await self._admit_tokens(request, tenant)
        return self._stream(plan, ticket, seen, request, deadline, started)

    async def _stream(
        self,
        plan: Plan,
        received: TriageRequest,
        seen: TriageRequest,
        request: ModelRequest,
        deadline: Deadline,
        started: float,
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        answer = ""
        summary = ""
        events = self.chains.for_tenant(plan.call.tenant).stream(
            partial(fit, plan.prompt, seen, request),
            TriageResult,
            observer=self.metering.for_request(plan.call),
            deadline=deadline,
            input_chars=_input_chars(seen),
            first=plan.first,
        )
        system_prompt = _system_prompt(request)
        showing = True  # until the summary so far fails an output guardrail
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    answer += event.text
                    so_far = self.output_guard.preview(
                        partial_summary(answer), system_prompt, complete=has_summary(answer)
                    )
                    showing = showing and so_far is not None
                    if showing and so_far and so_far != summary:
                        summary = so_far
                        yield SummaryProgress(summary)
                    continue
                response = self._guarded(plan, request, event)
                if response is None:
                    response = await self._replacement(plan, seen, request, deadline)
                else:
                    self._maybe_shadow(plan, seen, response, event, _elapsed_ms(started))
                self._record(plan.call, received, response)
                yield response
        except EveryModelRefusedError:
            self.output_guard.refused(feature=FEATURE, answered_by=None)
            raise
        except ModelRefusalError:  # declined after its stream began: too late to fall back
            response = await self._replacement(plan, seen, request, deadline)
            self.output_guard.refused(feature=FEATURE, answered_by=response.model)
            self._record(plan.call, received, response)
            yield response

    async def _admit_tokens(self, request: ModelRequest, tenant: str) -> None:
        """Count the call's worst-case tokens against the tenant's per-minute token quota."""
        output = request.settings.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
        await self.rate_limiter.admit_tokens(tenant, request_tokens(request.messages) + output)

    def _cache_key(self, plan: Plan, ticket: TriageRequest) -> str:
        """The tenant, prompt version, the model that would answer first, its parameters, and
        the input: one tenant never gets an answer another's request paid for, nor learns from a
        hit what another sent."""
        settings = plan.prompt.settings
        return cache_key(
            (
                plan.call.tenant,
                plan.prompt.ref,
                plan.first
                or self.chains.for_tenant(plan.call.tenant).primary(_input_chars(ticket)),
                repr((settings.temperature, settings.max_output_tokens)),
                normalise(ticket.subject),
                normalise(ticket.body),
            )
        )

    async def _generate(
        self,
        plan: Plan,
        ticket: TriageRequest,
        request: ModelRequest,
        deadline: Deadline,
        first: str | None,
    ) -> Served[TriageResult]:
        return await self.chains.for_tenant(plan.call.tenant).generate(
            partial(fit, plan.prompt, ticket, request),
            TriageResult,
            observer=self.metering.for_request(plan.call),
            deadline=deadline,
            input_chars=_input_chars(ticket),
            first=first,
        )

    def _guarded(
        self, plan: Plan, request: ModelRequest, served: Served[TriageResult]
    ) -> TriageResponse | None:
        """The answer as the output guardrails let it out, or None when it must be replaced.

        Nothing replaces the classical model's answer: when it is blocked, the guard raises.
        """
        if served.refused:
            self.output_guard.refused(feature=FEATURE, answered_by=served.model)
        answer = self._respond(plan, served)
        system_prompt = _system_prompt(request)
        if served.model == CLASSICAL_MODEL:
            summary = self.output_guard.check_last_resort(
                answer.summary, system_prompt, feature=FEATURE, model=served.model
            )
        else:
            checked = self.output_guard.check(
                answer.summary, system_prompt, feature=FEATURE, model=served.model
            )
            if checked is None:
                return None
            summary = checked
        return with_summary(answer, summary)

    async def _replacement(
        self, plan: Plan, ticket: TriageRequest, request: ModelRequest, deadline: Deadline
    ) -> TriageResponse:
        """The classical model's answer instead of one blocked or declined: degraded, and sent to
        human review."""
        served = await self._generate(plan, ticket, request, deadline, CLASSICAL_MODEL)
        answer = self._respond(plan, replace(served, degraded=True), review=True)
        summary = self.output_guard.check_last_resort(
            answer.summary, _system_prompt(request), feature=FEATURE, model=served.model
        )
        return with_summary(answer, summary)

    def _respond(
        self, plan: Plan, served: Served[TriageResult], *, review: bool = False
    ) -> TriageResponse:
        """The API answer; `review` (or a model's refusal, or low confidence) flags it for a
        human."""
        result = served.output
        return TriageResponse(
            category=result.category,
            priority=result.priority,
            summary=result.summary,
            needs_human=review
            or plan.flagged
            or served.refused
            or result.needs_human
            or result.confidence < self.review_threshold,
            confidence=result.confidence,
            model=served.model,
            prompt_version=plan.prompt.ref,
            degraded=served.degraded or not plan.decision.enabled,
            cached=False,
        )

    def _record(self, call: CallContext, ticket: TriageRequest, answer: TriageResponse) -> None:
        self.writer.record(answer_row(call, ticket, answer))

    def _maybe_shadow(
        self,
        plan: Plan,
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


def _system_prompt(request: ModelRequest) -> str:
    return "\n".join(message.content for message in request.messages if message.role == "system")


def _input_chars(ticket: TriageRequest) -> int:
    return len(ticket.subject) + len(ticket.body)
