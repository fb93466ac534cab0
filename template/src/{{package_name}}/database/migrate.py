"""Bring the ledger's schema up to date: run every Alembic migration not applied yet.

The service does this at start-up, so a new version's schema change needs no separate deploy
step. On PostgreSQL the migration runs under an advisory lock: replicas starting together
migrate once, one after the other, instead of racing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK_ID = 7_304_120_117  # any constant shared by every replica of this service


async def migrate(engine: AsyncEngine) -> None:
    """Apply pending migrations; safe to run from several processes at once on PostgreSQL."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"SELECT pg_advisory_lock({_ADVISORY_LOCK_ID})"))
            await connection.commit()
        try:
            await connection.run_sync(_upgrade)
        finally:
            if connection.dialect.name == "postgresql":
                await connection.execute(text(f"SELECT pg_advisory_unlock({_ADVISORY_LOCK_ID})"))
                await connection.commit()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
