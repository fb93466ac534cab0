"""Usage read back from the ledger: calls, tokens and cost per day, tenant, feature and model.

Shadow calls (candidates run beside live traffic, never charged to a tenant's budgets) are
lines of their own, marked `shadow`, so they are never added silently to a tenant's live spend.
So are calls made with a tenant's own provider key (`tenant_key`): its provider bills the tenant
for them, and an operator splitting the provider's bill leaves them out. `estimated_calls`
counts the calls whose tokens the provider did not report: their tokens and cost are estimates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..costs.pricing import from_nano_usd
from ..database.tables import model_calls

_LINE = (
    model_calls.c.day,
    model_calls.c.tenant,
    model_calls.c.feature,
    model_calls.c.model,
    model_calls.c.shadow,
    model_calls.c.tenant_key,
)
"""What one usage line is for, in the order lines come."""


@dataclass(frozen=True, slots=True)
class UsageLine:
    """Everything one tenant spent on one model for one feature on one UTC day."""

    day: dt.date
    tenant: str
    feature: str
    model: str
    shadow: bool
    tenant_key: bool
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    unpriced_calls: int
    cache_hits: int
    estimated_calls: int


async def usage(
    engine: AsyncEngine,
    *,
    since: dt.date,
    until: dt.date,
    tenant: str | None = None,
    include_shadow: bool = True,
) -> list[UsageLine]:
    """Usage from `since` to `until` (inclusive), for one tenant or all of them; shadow lines
    follow the live line of the same day, tenant, feature and model, and lines of the tenant's
    own key follow the service's."""
    calls = model_calls.c
    query = (
        select(
            *_LINE,
            func.count(),
            func.sum(calls.input_tokens),
            func.sum(calls.output_tokens),
            func.coalesce(func.sum(calls.cost_nano_usd), 0),
            func.sum(case((calls.cost_nano_usd.is_(None), 1), else_=0), type_=Integer),
            func.sum(case((calls.outcome == "cache_hit", 1), else_=0), type_=Integer),
            func.sum(case((calls.usage_estimated.is_(True), 1), else_=0), type_=Integer),
        )
        .where(calls.day >= since, calls.day <= until)
        .group_by(*_LINE)
        .order_by(*_LINE)
    )
    if tenant is not None:
        query = query.where(calls.tenant == tenant)
    if not include_shadow:
        query = query.where(calls.shadow.is_(False))
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        UsageLine(
            day=day,
            tenant=row_tenant,
            feature=feature,
            model=model,
            shadow=bool(shadow),
            tenant_key=bool(tenant_key),
            calls=int(count),
            input_tokens=int(input_tokens),
            output_tokens=int(output_tokens),
            cost_usd=from_nano_usd(int(cost)),
            unpriced_calls=int(unpriced),
            cache_hits=int(hits),
            estimated_calls=int(estimated),
        )
        for (
            day,
            row_tenant,
            feature,
            model,
            shadow,
            tenant_key,
            count,
            input_tokens,
            output_tokens,
            cost,
            unpriced,
            hits,
            estimated,
        ) in rows
    ]
