"""Every table, as the migrations create them; queries and row types build on these.

Costs are whole nano-dollars (10^-9 USD): exact integers that SQLite, PostgreSQL and Redis all
add without rounding. A NULL cost marks an unpriced call: counted, never guessed.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

_ID = BigInteger().with_variant(Integer, "sqlite")
"""Auto-incrementing on both databases (SQLite only auto-increments INTEGER keys)."""

model_calls = Table(
    "model_calls",
    metadata,
    Column("id", _ID, primary_key=True),
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
    Column("shadow", Boolean, nullable=False, server_default=false()),
    Column("tenant_key", Boolean, nullable=False, server_default=false()),
    Column("usage_estimated", Boolean, nullable=False, server_default=false()),
    Index("ix_model_calls_tenant_day", "tenant", "day"),
)
"""The cost ledger: one row per model call (or cache hit); `shadow` rows are shadow traffic;
`tenant_key` rows were made with the tenant's own provider key, so its provider bills the
tenant for them, not the service; `usage_estimated` rows have tokens the provider did not
report, estimated by the service (and priced on the estimate)."""

answers = Table(
    "answers",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("tenant", String(63), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("prompt_version", String(128), nullable=False),
    Column("model", String(200), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("output", JSON, nullable=False),
    Column("confidence", Float),
    Column("review_status", String(16), nullable=False),
    Column("reviewed_by", String(80)),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("correction", JSON),
    Index("ix_answers_tenant_request", "tenant", "request_id"),
    Index("ix_answers_tenant_review", "tenant", "review_status"),
)
"""Every answer given, with its inputs: what feedback and human review refer to.
`review_status` is `none`, `pending` (needs a human) or `resolved`."""

feedback = Table(
    "feedback",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("tenant", String(63), nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("rating", String(8), nullable=False),
    Column("correction", JSON),
    Column("comment", Text),
    Index("ix_feedback_tenant_request", "tenant", "request_id"),
)
"""Thumbs up or down on an answer, with an optional correction and comment."""

shadow_comparisons = Table(
    "shadow_comparisons",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("tenant", String(63), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("live_prompt", String(128), nullable=False),
    Column("live_model", String(200), nullable=False),
    Column("shadow_prompt", String(128), nullable=False),
    Column("shadow_model", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("agreement", JSON),
    Column("live_latency_ms", Float, nullable=False),
    Column("shadow_latency_ms", Float),
    Column("live_cost_nano_usd", BigInteger),
    Column("shadow_cost_nano_usd", BigInteger),
    Index("ix_shadow_comparisons_created_at", "created_at"),
)
"""A live answer next to a shadow candidate's for the same request. `agreement` says, for each
aspect the feature compares, whether the two answers agree (NULL when the candidate failed)."""

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("tenant", String(63)),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_audit_events_occurred_at", "occurred_at"),
)
"""Append-only: who (a key id, an operator, the service) did what, to what, when."""
