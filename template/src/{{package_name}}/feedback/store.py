"""Feedback in the database: check that the rated answer exists, then store the rating.

Answers are written by the background writer, so the answer a client rates the moment it
arrived may still be in the writer's buffer: a miss flushes the writer and looks once more.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..database.tables import answers
from ..database.writer import RowWriter
from .rows import FeedbackRow


async def answered_feature(
    engine: AsyncEngine, writer: RowWriter, tenant: str, request_id: str
) -> str | None:
    """The feature that gave `tenant` an answer under `request_id`; None when none did (another
    tenant's answer never counts)."""
    feature = await _answer_stored(engine, tenant, request_id)
    if feature is not None:
        return feature
    await writer.flush()
    return await _answer_stored(engine, tenant, request_id)


async def save(engine: AsyncEngine, row: FeedbackRow) -> int:
    """Insert `row` at once (feedback is rare, and the client is told its id); return the id."""
    insert = row.TABLE.insert().values(row.values()).returning(row.TABLE.c.id)
    async with engine.begin() as connection:
        return int((await connection.execute(insert)).scalar_one())


async def _answer_stored(engine: AsyncEngine, tenant: str, request_id: str) -> str | None:
    query = (
        select(answers.c.feature)
        .where(answers.c.tenant == tenant, answers.c.request_id == request_id)
        .limit(1)
    )
    async with engine.connect() as connection:
        return (await connection.execute(query)).scalar_one_or_none()
