"""`GET /v1/audit`: the audit trail, for operators (`admin` keys), across every tenant."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from ..audit import AuditLog
from ..database.times import utc
from .admission import require_scope
from .problems import problem_responses
from .query_values import IsoDateTime

router = APIRouter(prefix="/v1", tags=["audit"])

MAX_EVENTS = 1_000


class AuditEntry(BaseModel):
    """Who (a key id, an operator or `service`) did what, to what, when."""

    occurred_at: dt.datetime
    actor: str
    action: str
    subject: str
    tenant: str | None
    details: dict[str, Any]


class AuditTrail(BaseModel):
    """The latest events first."""

    events: list[AuditEntry]


@router.get("/audit", responses=problem_responses(401, 403, 422, 429, 500))
async def get_audit(
    request: Request,
    since: Annotated[
        IsoDateTime | None, Query(description="Only events from this time on (UTC if no zone).")
    ] = None,
    tenant: Annotated[str | None, Query(description="Only events about this tenant.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
) -> AuditTrail:
    """Label promotions, flag changes, budget overrides and review decisions, newest first."""
    require_scope(request, "admin")
    audit: AuditLog = request.app.state.audit
    events = await audit.events(
        tenant=tenant, since=utc(since) if since is not None else None, limit=limit
    )
    return AuditTrail(
        events=[
            AuditEntry(
                occurred_at=utc(event.occurred_at),
                actor=event.actor,
                action=event.action,
                subject=event.subject,
                tenant=event.tenant,
                details=dict(event.details),
            )
            for event in events
        ]
    )
