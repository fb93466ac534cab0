"""Shadow comparisons record agreement as JSON, one entry per aspect the feature compares.

Triage compared category and priority in two columns of their own; every feature compares what
matters to it, so the columns become one `agreement` object (`{"category": true, "priority":
false}`). Existing rows move over losslessly; a row whose candidate failed has none (NULL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

_ASPECTS = ("category", "priority")
"""What the two retired columns compared: `same_category` and `same_priority`."""


def _comparisons(*columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table("shadow_comparisons", sa.column("id", sa.BigInteger), *columns)


def upgrade() -> None:
    op.add_column("shadow_comparisons", sa.Column("agreement", sa.JSON))
    retired = [sa.column(f"same_{aspect}", sa.Boolean) for aspect in _ASPECTS]
    old = _comparisons(*retired)
    new = _comparisons(sa.column("agreement", sa.JSON))
    connection = op.get_bind()
    for row in connection.execute(sa.select(old)).mappings():
        agreement = {aspect: row[f"same_{aspect}"] for aspect in _ASPECTS}
        if any(same is not None for same in agreement.values()):
            update = new.update().where(new.c.id == row["id"]).values(agreement=agreement)
            connection.execute(update)
    with op.batch_alter_table("shadow_comparisons") as batch:
        for aspect in _ASPECTS:
            batch.drop_column(f"same_{aspect}")


def downgrade() -> None:
    with op.batch_alter_table("shadow_comparisons") as batch:
        for aspect in _ASPECTS:
            batch.add_column(sa.Column(f"same_{aspect}", sa.Boolean))
    retired = [sa.column(f"same_{aspect}", sa.Boolean) for aspect in _ASPECTS]
    table = _comparisons(sa.column("agreement", sa.JSON), *retired)
    connection = op.get_bind()
    for row in connection.execute(sa.select(table.c.id, table.c.agreement)).mappings():
        agreement = row["agreement"] or {}
        values = {f"same_{aspect}": agreement.get(aspect) for aspect in _ASPECTS}
        connection.execute(table.update().where(table.c.id == row["id"]).values(**values))
    with op.batch_alter_table("shadow_comparisons") as batch:
        batch.drop_column("agreement")
