"""The ledger's table, as the migrations create it, and the row the service writes to it.

Costs are stored as whole nano-dollars (10^-9 USD): exact integers that SQLite, PostgreSQL and
Redis all add without rounding. A NULL cost marks an unpriced call: counted, never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

model_calls = Table(
    "model_calls",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Column("request_id", String(128)),
    Column("tenant", String(63), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("prompt_version", String(128), nullable=False),
    Column("model", String(200), nullable=False),
    Column("response_model", String(200)),
    Column("outcome", String(32), nullable=False),
    Column("error_type", String(100)),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_input_tokens", Integer, nullable=False),
    Column("cost_nano_usd", BigInteger),
    Column("latency_ms", Float, nullable=False),
    Index("ix_model_calls_tenant_day", "tenant", "day"),
)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One model call (or cache hit), as written to `model_calls`."""

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

    def values(self) -> dict[str, Any]:
        """Column values, with the UTC day the call belongs to."""
        values = {field: getattr(self, field) for field in self.__slots__}
        values["day"] = self.occurred_at.date()
        return values
