"""What becomes of an answer once it is decided: its guarded text and its record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol, cast

from annotated_types import MaxLen
from pydantic import BaseModel

from ..feature import Assessed
from ..metering import CallContext
from ..review.rows import AnswerRow


class Answer(Assessed, Protocol):
    """What every feature's API answer carries besides its result (`feature.ANSWER_FIELDS`)."""

    @property
    def model(self) -> str: ...

    @property
    def prompt_version(self) -> str: ...

    @property
    def degraded(self) -> bool: ...

    @property
    def cached(self) -> bool: ...


def answered(response: BaseModel) -> Answer:
    """`response` seen through the fields every feature's answer has (`Feature.response`)."""
    return cast(Answer, response)


def with_guarded(answer: BaseModel, guarded: Mapping[str, str]) -> BaseModel:
    """`answer` with its guarded text, each field cut back to the schema's limit if redaction
    markers made it longer than the value they replace."""
    fields = type(answer).model_fields
    changed = {}
    for name, text in guarded.items():
        if text == getattr(answer, name):
            continue
        limit = next((m.max_length for m in fields[name].metadata if isinstance(m, MaxLen)), None)
        if limit is not None and len(text) > limit:
            text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
        changed[name] = text
    return answer.model_copy(update=changed) if changed else answer


def answer_row(call: CallContext, received: BaseModel, response: BaseModel) -> AnswerRow:
    """The answer and the request as received, for feedback; answers flagged for a human join
    the review queue."""
    answer = answered(response)
    return AnswerRow(
        created_at=dt.datetime.now(dt.UTC),
        request_id=call.request_id or "",
        tenant=call.tenant,
        feature=call.feature,
        prompt_version=answer.prompt_version,
        model=answer.model,
        inputs=received.model_dump(mode="json"),
        output=response.model_dump(mode="json"),
        confidence=answer.confidence,
        review_status="pending" if answer.needs_human else "none",
    )
