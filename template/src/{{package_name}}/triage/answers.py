"""What becomes of an answer once it is decided: its guarded summary and its record."""

from __future__ import annotations

import datetime as dt

from ..metering import CallContext
from ..review.rows import AnswerRow
from . import FEATURE
from .schemas import MAX_SUMMARY_CHARS, TriageRequest, TriageResponse


def with_summary(answer: TriageResponse, summary: str) -> TriageResponse:
    """`answer` with the guarded summary, cut back to the schema's limit if redaction markers
    made it longer than the value they replace."""
    if summary == answer.summary:
        return answer
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = summary[: MAX_SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return answer.model_copy(update={"summary": summary})


def answer_row(call: CallContext, ticket: TriageRequest, answer: TriageResponse) -> AnswerRow:
    """The answer and the ticket as received, for feedback; answers flagged for a human join the
    review queue."""
    return AnswerRow(
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
