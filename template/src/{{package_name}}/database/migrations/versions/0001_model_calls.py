"""Create the model_calls table.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("feature", sa.String(64), nullable=False),
        sa.Column("prompt_version", sa.String(128), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("response_model", sa.String(200)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("error_type", sa.String(100)),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cached_input_tokens", sa.Integer, nullable=False),
        sa.Column("cost_nano_usd", sa.BigInteger),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_model_calls_tenant_day", "model_calls", ["tenant", "day"])


def downgrade() -> None:
    op.drop_index("ix_model_calls_tenant_day", table_name="model_calls")
    op.drop_table("model_calls")
