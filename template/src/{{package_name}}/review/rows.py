"""The row recorded for every answer a feature gives: what feedback and reviews refer to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sqlalchemy import Table

from ..database.tables import answers

ReviewStatus = Literal["none", "pending", "resolved"]
"""`pending`: the answer was flagged for a human and waits in the review queue."""


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One answer, with the inputs it answered, as written to `answers`."""

    TABLE: ClassVar[Table] = answers

    created_at: dt.datetime
    request_id: str
    tenant: str
    feature: str
    prompt_version: str
    model: str
    inputs: dict[str, Any]
    output: dict[str, Any]
    confidence: float | None
    review_status: ReviewStatus

    def values(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.__slots__}
