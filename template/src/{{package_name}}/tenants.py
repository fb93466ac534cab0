"""Per-tenant exceptions to the default rate limits, budgets and provider keys.

A large customer gets a higher quota, or calls providers under its own account, by
configuration, not by code: any field left out keeps the service-wide default.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .llm.providers import PROVIDERS

_VARIABLE_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class TenantOverrides(BaseModel):
    """What differs for one tenant; `None` means "the default applies"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_minute: Annotated[int, Field(ge=1)] | None = None
    tokens_per_minute: Annotated[int, Field(ge=1)] | None = None
    daily_budget_usd: Annotated[Decimal, Field(ge=0)] | None = None
    monthly_budget_usd: Annotated[Decimal, Field(ge=0)] | None = None
    provider_keys: dict[str, str] = {}
    """The tenant's own API key for a provider, by the NAME of the environment variable that
    holds it (e.g. {"<provider>": "ACME_PROVIDER_KEY"}), so the key never sits in this setting."""

    @field_validator("provider_keys")
    @classmethod
    def _check_provider_keys(cls, names: dict[str, str]) -> dict[str, str]:
        for provider, variable in names.items():
            if provider not in PROVIDERS:
                known = ", ".join(sorted(PROVIDERS)) or "none: this service calls no provider"
                raise ValueError(f"unknown provider {provider!r}; known: {known}")
            if not _VARIABLE_NAME.match(variable):
                raise ValueError(
                    f"the {provider} key must be named by an upper-case environment variable, "
                    "e.g. ACME_PROVIDER_KEY, not given as a value"
                )
        return names
