"""Triage business logic: build the model request, ask the fallback chain, apply review policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from pydantic_core import from_json

from ..llm.context_window import input_budget
from ..llm.deadline import Deadline
from ..llm.errors import ContextWindowExceededError
from ..llm.fallback import FallbackChain, Served
from ..llm.port import ModelRequest, TextDelta
from ..llm.tokens import BYTES_PER_TOKEN, request_tokens
from ..prompts import Prompt
from .schemas import TRIAGE_OUTPUT, TriageRequest, TriageResponse, TriageResult

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

    async def triage(self, ticket: TriageRequest, deadline: Deadline) -> TriageResponse:
        """Classify `ticket`; answers under the confidence threshold go to a human."""
        served = await self.models.generate(
            partial(self._request, ticket),
            TriageResult,
            prompt=self.prompt.ref,
            deadline=deadline,
            input_chars=_input_chars(ticket),
        )
        return self._respond(served)

    async def triage_stream(
        self, ticket: TriageRequest, deadline: Deadline
    ) -> AsyncIterator[SummaryProgress | TriageResponse]:
        """Like `triage`, reporting the summary as it is written, then the full answer."""
        answer = ""
        summary = ""
        events = self.models.stream(
            partial(self._request, ticket),
            TriageResult,
            prompt=self.prompt.ref,
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

    def _request(self, ticket: TriageRequest, context_window: int | None) -> ModelRequest:
        """The model request; the body is truncated when the model's window is too small."""
        request = self._render(ticket.subject, ticket.body)
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
