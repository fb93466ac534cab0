"""Bring the database's schema up to date, or wait until something else has.

By default the service migrates at start-up, so a new version's schema change needs no separate
deploy step. On PostgreSQL the migration runs under an advisory lock: replicas starting together
migrate once, one after the other, instead of racing. In Kubernetes a Job runs `migrate` once per
release instead, and replicas started with `SCHEMA_AT_START=wait` wait for it (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK_ID = 7_304_120_117  # any constant shared by every replica of this service
_POLL_SECONDS = 1.0

log = structlog.get_logger(__name__)


class SchemaNotReadyError(RuntimeError):
    """The schema did not reach this version's head in time: the service must not start."""


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


async def wait_for_schema(engine: AsyncEngine, timeout_seconds: float) -> str:
    """Return the head revision once the database is at it; poll until then.

    An unreachable database counts as not yet migrated: the Job and the database may still be
    starting. After `timeout_seconds`, `SchemaNotReadyError` says where the schema stands.
    """
    head = head_revision()
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            current: str | None = await _current_revision(engine)
        except (DBAPIError, OSError) as exc:
            current = f"unreachable ({type(exc).__name__})"
        if current == head:
            return head
        if time.monotonic() >= deadline:
            raise SchemaNotReadyError(
                f"The database schema is at {current or 'no revision'}, not {head}, after "
                f"{timeout_seconds:g} s: has the migration Job run (`migrate`)?"
            )
        log.info("schema_waiting", current=current, head=head)
        await asyncio.sleep(_POLL_SECONDS)


def head_revision() -> str:
    """The newest migration this version of the service ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the service always ships migrations
        raise SchemaNotReadyError("No migrations found")
    return head


async def _current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
