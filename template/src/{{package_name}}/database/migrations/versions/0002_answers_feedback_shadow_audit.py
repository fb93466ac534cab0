"""Answers, feedback, shadow comparisons, the audit trail; shadow calls in the ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column(
        "model_calls",
        sa.Column("shadow", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "answers",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("feature", sa.String(64), nullable=False),
        sa.Column("prompt_version", sa.String(128), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("output", sa.JSON, nullable=False),
        sa.Column("confidence", sa.Float),
        sa.Column("review_status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(80)),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("correction", sa.JSON),
    )
    op.create_index("ix_answers_tenant_request", "answers", ["tenant", "request_id"])
    op.create_index("ix_answers_tenant_review", "answers", ["tenant", "review_status"])
    op.create_table(
        "feedback",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("correction", sa.JSON),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_feedback_tenant_request", "feedback", ["tenant", "request_id"])
    op.create_table(
        "shadow_comparisons",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("feature", sa.String(64), nullable=False),
        sa.Column("live_prompt", sa.String(128), nullable=False),
        sa.Column("live_model", sa.String(200), nullable=False),
        sa.Column("shadow_prompt", sa.String(128), nullable=False),
        sa.Column("shadow_model", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("same_category", sa.Boolean),
        sa.Column("same_priority", sa.Boolean),
        sa.Column("live_latency_ms", sa.Float, nullable=False),
        sa.Column("shadow_latency_ms", sa.Float),
        sa.Column("live_cost_nano_usd", sa.BigInteger),
        sa.Column("shadow_cost_nano_usd", sa.BigInteger),
    )
    op.create_index("ix_shadow_comparisons_created_at", "shadow_comparisons", ["created_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("tenant", sa.String(63)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_occurred_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_shadow_comparisons_created_at", table_name="shadow_comparisons")
    op.drop_table("shadow_comparisons")
    op.drop_index("ix_feedback_tenant_request", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_answers_tenant_review", table_name="answers")
    op.drop_index("ix_answers_tenant_request", table_name="answers")
    op.drop_table("answers")
    with op.batch_alter_table("model_calls") as table:
        table.drop_column("shadow")
