"""The row written for each piece of feedback on an answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sqlalchemy import Table, null

from ..database.tables import feedback

Rating = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One rating of one answer, by one API key, as written to `feedback`."""

    TABLE: ClassVar[Table] = feedback

    created_at: dt.datetime
    request_id: str
    tenant: str
    key_id: str
    rating: Rating
    correction: dict[str, Any] | None
    comment: str | None

    def values(self) -> dict[str, Any]:
        values = {field: getattr(self, field) for field in self.__slots__}
        # SQL NULL rather than JSON `null`, so that `correction IS NULL` means "no correction".
        values["correction"] = null() if self.correction is None else self.correction
        return values
