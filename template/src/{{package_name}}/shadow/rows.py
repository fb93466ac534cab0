"""The row recorded when a shadow candidate answered (or failed) beside a live answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from sqlalchemy import Table

from ..database.tables import shadow_comparisons

ShadowOutcome = Literal["ok", "error", "timeout"]


@dataclass(frozen=True, slots=True)
class ShadowComparisonRow:
    """Live and shadow, side by side, for one request."""

    TABLE: ClassVar[Table] = shadow_comparisons

    created_at: dt.datetime
    request_id: str
    tenant: str
    feature: str
    live_prompt: str
    live_model: str
    shadow_prompt: str
    shadow_model: str
    outcome: ShadowOutcome
    agreement: dict[str, bool] | None
    """Per aspect the feature compares (triage: category, priority): do the answers agree?
    None when the candidate did not answer."""
    live_latency_ms: float
    shadow_latency_ms: float | None
    live_cost_nano_usd: int | None
    shadow_cost_nano_usd: int | None

    def values(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.__slots__}
