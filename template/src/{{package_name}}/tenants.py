"""Per-tenant exceptions to the default rate limits and budgets.

A large customer gets a higher quota by configuration, not by code: any field left out keeps
the service-wide default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class TenantOverrides(BaseModel):
    """What differs for one tenant; `None` means "the default applies"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_minute: Annotated[int, Field(ge=1)] | None = None
    tokens_per_minute: Annotated[int, Field(ge=1)] | None = None
    daily_budget_usd: Annotated[Decimal, Field(ge=0)] | None = None
    monthly_budget_usd: Annotated[Decimal, Field(ge=0)] | None = None
