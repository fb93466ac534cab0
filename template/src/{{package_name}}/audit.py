"""The audit trail: who changed what, and when, appended and never edited.

Label promotions, flag file changes the service saw, budget overrides coming into force,
review decisions and failed authentications are each one row: the actor (an API key id such as
`acme/1a2b3c4d`, an operator's name for the CLI, `service` for what the service noticed itself,
or a client address), the action, its subject, the tenant it concerns (if any) and details.
Nothing in the service updates or deletes these rows; reading them is for operators (`admin`
keys), across tenants or filtered by one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .database.tables import audit_events

SERVICE_ACTOR = "service"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of the trail."""

    occurred_at: dt.datetime
    actor: str
    action: str
    subject: str
    tenant: str | None
    details: Mapping[str, Any]


async def append(connection: AsyncConnection, event: AuditEvent) -> None:
    """Append `event` in the caller's transaction: a change and its entry commit together."""
    await connection.execute(
        audit_events.insert(),
        {
            "occurred_at": event.occurred_at,
            "actor": event.actor,
            "action": event.action,
            "subject": event.subject,
            "tenant": event.tenant,
            "details": dict(event.details),
        },
    )


class AuditLog:
    """Appends events to `audit_events` as they happen (they are rare: no batching)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pending: set[asyncio.Task[AuditEvent]] = set()

    def record_soon(
        self,
        actor: str,
        action: str,
        subject: str,
        *,
        tenant: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """`record` from code that cannot wait (a reload noticed during a request).

        A failed write is logged as `audit_event_lost`, with what it was about.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the service's event loop nothing could write it
            log.error("audit_event_lost", action=action, subject=subject, error_type="NoEventLoop")
            return
        task = loop.create_task(self.record(actor, action, subject, tenant=tenant, details=details))
        self._pending.add(task)
        task.add_done_callback(partial(self._written, action, subject))

    def _written(self, action: str, subject: str, task: asyncio.Task[AuditEvent]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error(
                "audit_event_lost", action=action, subject=subject, error_type=type(error).__name__
            )

    async def aclose(self) -> None:
        """Wait for the events still being written."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def record_if_changed(
        self, actor: str, action: str, subject: str, details: Mapping[str, Any]
    ) -> bool:
        """Record the event unless the latest one of this action and subject had these details.

        Used at start-up for configuration that lives outside the service (budget overrides):
        each deployment that changes it leaves one entry, restarts leave none.
        """
        query = (
            select(audit_events.c.details)
            .where(audit_events.c.action == action, audit_events.c.subject == subject)
            .order_by(audit_events.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            latest = (await connection.execute(query)).scalar_one_or_none()
        if latest == dict(details):
            return False
        await self.record(actor, action, subject, details=details)
        return True

    async def record(
        self,
        actor: str,
        action: str,
        subject: str,
        *,
        tenant: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            occurred_at=dt.datetime.now(dt.UTC),
            actor=actor,
            action=action,
            subject=subject,
            tenant=tenant,
            details=dict(details or {}),
        )
        async with self._engine.begin() as connection:
            await append(connection, event)
        return event

    async def events(
        self, *, tenant: str | None = None, since: dt.datetime | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """The latest events first; only one tenant's when `tenant` is given."""
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if tenant is not None:
            query = query.where(audit_events.c.tenant == tenant)
        if since is not None:
            query = query.where(audit_events.c.occurred_at >= since)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            AuditEvent(
                occurred_at=row["occurred_at"],
                actor=row["actor"],
                action=row["action"],
                subject=row["subject"],
                tenant=row["tenant"],
                details=row["details"],
            )
            for row in rows
        ]
