"""The row the service writes to the cost ledger for every model call and cache hit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Table

from ..database.tables import model_calls


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One model call (or cache hit), as written to `model_calls`."""

    TABLE: ClassVar[Table] = model_calls

    occurred_at: dt.datetime
    request_id: str | None
    tenant: str
    feature: str
    prompt_version: str
    model: str
    response_model: str | None
    outcome: str
    error_type: str | None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_nano_usd: int | None
    latency_ms: float
    shadow: bool = False
    tenant_key: bool = False
    """Made with the tenant's own provider key: the provider bills the tenant."""
    usage_estimated: bool = False
    """The provider reported no usage: the tokens (and the cost) are the service's estimate."""

    def values(self) -> dict[str, Any]:
        """Column values, with the UTC day the call belongs to."""
        values = {field: getattr(self, field) for field in self.__slots__}
        values["day"] = self.occurred_at.date()
        return values
