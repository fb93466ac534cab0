"""Triage business logic: build the model request, ask the fallback chain, apply review policy.

Around the model call it applies what every feature needs: the tenant's token quota, the
response cache, and the call context metering records on every span, ledger row and log line.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from pydantic_core import from_json

from ..cache import CacheMode, ResponseCache, cache_key, normalise
from ..llm.context_window import input_budget
from ..llm.deadline import Deadline
from ..llm.errors import ContextWindowExceededError
from ..llm.fallback import FallbackChain, Served
from ..llm.port import ModelRequest, TextDelta
from ..llm.tokens import BYTES_PER_TOKEN, request_tokens
from ..metering import DEFAULT_MAX_OUTPUT_TOKENS, CallContext, Metering
from ..prompts import Prompt
from ..rate_limits import TenantRateLimiter
from .schemas import TRIAGE_OUTPUT, TriageRequest, TriageResponse, TriageResult

FEATURE = "triage"
TRUNCATION_MARKER = "\n[…truncated]"


@dataclass(frozen=True, slots=True)
class SummaryProgress:
    """The summary so far, while a streamed answer arrives."""

    summary: str


@dataclass(frozen=True, slots=True)
class TriageService:
    """Triage tickets with a chain of models and one prompt version."""

    models: FallbackChain
    prompt: Prompt
    review_threshold: float
    metering: Metering
    rate_limiter: TenantRateLimiter
    cache: ResponseCache

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
        call = CallContext(tenant, FEATURE, self.prompt.ref, request_id)
        key = self._cache_key(ticket)
        cached = await self.cache.lookup(key, cache_mode, FEATURE)
        if cached is not None:
            answer = TriageResponse.model_validate_json(cached)
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            self.metering.cache_hit(call, answer.model, latency_ms)
            return answer.model_copy(update={"cached": True, "degraded": False})
        request = self._render(ticket.subject, ticket.body)
        await self._admit_tokens(request, tenant)
        served = await self.models.generate(
            partial(self._fit, ticket, request),
            TriageResult,
            observer=self.metering.for_request(call),
            deadline=deadline,
            input_chars=_input_chars(ticket),
        )
        answer = self._respond(served)
        if not served.degraded:
            await self.cache.save(key, answer.model_dump_json().encode(), cache_mode)
        return answer

    async def triage_stream(
        self, ticket: TriageRequest, deadline: Deadline, *, tenant: str, request_id: str | None
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        """Like `triage`, reporting the summary as it is written, then the full answer.

        The token quota is checked before the stream is returned, so a refusal is still an HTTP
        status. Streams are not cached: their point is the model writing live.
        """
        request = self._render(ticket.subject, ticket.body)
        await self._admit_tokens(request, tenant)
        call = CallContext(tenant, FEATURE, self.prompt.ref, request_id)
        return self._stream(ticket, request, deadline, call)

    async def _stream(
        self, ticket: TriageRequest, request: ModelRequest, deadline: Deadline, call: CallContext
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        answer = ""
        summary = ""
        events = self.models.stream(
            partial(self._fit, ticket, request),
            TriageResult,
            observer=self.metering.for_request(call),
            deadline=deadline,
            input_chars=_input_chars(ticket),
        )
        async for event in events:
            if isinstance(event, TextDelta):
                answer += event.text
                partial_summary = _partial_summary(answer)
                if partial_summary and partial_summary != summary:
                    summary = partial_summary
                    yield SummaryProgress(summary)
            else:
                yield self._respond(event)

    async def _admit_tokens(self, request: ModelRequest, tenant: str) -> None:
        """Count the call's worst-case tokens against the tenant's per-minute token quota."""
        output = request.settings.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
        await self.rate_limiter.admit_tokens(tenant, request_tokens(request.messages) + output)

    def _cache_key(self, ticket: TriageRequest) -> str:
        """Prompt version, the model that would answer first, its parameters, and the input."""
        settings = self.prompt.settings
        return cache_key(
            (
                self.prompt.ref,
                self.models.primary(_input_chars(ticket)),
                repr((settings.temperature, settings.max_output_tokens)),
                normalise(ticket.subject),
                normalise(ticket.body),
            )
        )

    def _fit(
        self, ticket: TriageRequest, request: ModelRequest, context_window: int | None
    ) -> ModelRequest:
        """`request`, with the body truncated when the model's context window is too small."""
        budget = input_budget(context_window, self.prompt.settings.max_output_tokens)
        excess = request_tokens(request.messages) - budget if budget is not None else 0
        if excess <= 0:
            return request
        body = ticket.body.encode("utf-8")
        keep = len(body) - excess * BYTES_PER_TOKEN - len(TRUNCATION_MARKER.encode("utf-8"))
        if keep <= 0:
            raise ContextWindowExceededError("the ticket does not fit even with an empty body")
        truncated = body[:keep].decode("utf-8", errors="ignore") + TRUNCATION_MARKER
        return self._render(ticket.subject, truncated)

    def _render(self, subject: str, body: str) -> ModelRequest:
        variables = {"subject": subject, "body": body}
        return ModelRequest(
            messages=self.prompt.render(variables),
            output=TRIAGE_OUTPUT,
            settings=self.prompt.settings,
            inputs=variables,
        )

    def _respond(self, served: Served[TriageResult]) -> TriageResponse:
        result = served.output
        return TriageResponse(
            category=result.category,
            priority=result.priority,
            summary=result.summary,
            needs_human=result.needs_human or result.confidence < self.review_threshold,
            confidence=result.confidence,
            model=served.model,
            prompt_version=self.prompt.ref,
            degraded=served.degraded,
            cached=False,
        )


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
