"""`GET /v1/usage`: what the calling tenant used, per day, feature and model, from the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, PlainSerializer
from sqlalchemy.ext.asyncio import AsyncEngine

from ..ledger.usage import usage
from .admission import require_scope
from .problems import PROBLEM_RESPONSES
from .query_values import IsoDate

router = APIRouter(prefix="/v1", tags=["usage"])

Usd = Annotated[Decimal, PlainSerializer(lambda usd: format(usd, "f"), return_type=str)]
"""US dollars as a plain decimal string, exact to the nano-dollar: never `1.5E-7`."""

MAX_DAYS = 366


class UsageItem(BaseModel):
    """One day's use of one model by one feature."""

    day: dt.date
    feature: str
    model: str
    own_key: Annotated[
        bool, Field(description="Made with your own provider key: your provider bills you.")
    ]
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Annotated[Usd, Field(description="Priced calls only; see unpriced_calls.")]
    unpriced_calls: Annotated[int, Field(description="Calls with no known price.")]
    cache_hits: int
    estimated_calls: Annotated[
        int,
        Field(
            description="Calls whose provider reported no token usage: their tokens, and the "
            "cost priced on them, are estimates."
        ),
    ]


class UsageReport(BaseModel):
    """A tenant's usage over a range of UTC days (both ends included)."""

    tenant: str
    since: dt.date
    until: dt.date
    total_cost_usd: Usd
    items: list[UsageItem]


@router.get("/usage", responses=PROBLEM_RESPONSES)
async def get_usage(
    request: Request,
    since: Annotated[
        IsoDate | None, Query(description="First UTC day (default: 1st of this month).")
    ] = None,
    until: Annotated[IsoDate | None, Query(description="Last UTC day (default: today).")] = None,
) -> UsageReport:
    """Your own usage, priced, from the ledger (calls of the last second may not be in yet).

    Shadow calls, the operator's trials of a candidate prompt or model on a sample of your
    requests, are not yours to pay for: they count against no budget of yours and are not here.
    """
    today = dt.datetime.now(dt.UTC).date()
    until = until or today
    since = since or until.replace(day=1)
    if since > until:
        raise HTTPException(422, "`since` must not be after `until`.")
    if (until - since).days >= MAX_DAYS:
        raise HTTPException(422, f"Ask for at most {MAX_DAYS} days at a time.")
    engine: AsyncEngine = request.app.state.database
    tenant = require_scope(request, "usage:read").tenant
    lines = await usage(engine, since=since, until=until, tenant=tenant, include_shadow=False)
    items = [
        UsageItem(
            day=line.day,
            feature=line.feature,
            model=line.model,
            own_key=line.tenant_key,
            calls=line.calls,
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            cost_usd=line.cost_usd,
            unpriced_calls=line.unpriced_calls,
            cache_hits=line.cache_hits,
            estimated_calls=line.estimated_calls,
        )
        for line in lines
    ]
    return UsageReport(
        tenant=tenant,
        since=since,
        until=until,
        total_cost_usd=sum((item.cost_usd for item in items), Decimal(0)),
        items=items,
    )
