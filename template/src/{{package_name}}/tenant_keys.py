"""Provider keys tenants bring, looked up by the variable names in their overrides.

Settings hold only names (`{"<provider>": "ACME_PROVIDER_KEY"}`); the keys themselves come from
the environment or `.env`, where a secret manager puts them. So a key is never in the settings,
the answers file or an error message, and log redaction knows it like any other secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import SecretStr

from .llm.errors import ModelConfigurationError
from .settings import ENV_PREFIX
from .tenants import TenantOverrides


def tenant_provider_keys(
    overrides: Mapping[str, TenantOverrides], env_file: Path | None = Path(".env")
) -> dict[str, dict[str, SecretStr]]:
    """Each tenant's own provider keys; a named variable that is unset or empty is an error
    naming the variable and the tenant, never a value."""
    named = [
        (tenant, provider, variable)
        for tenant, override in overrides.items()
        for provider, variable in override.provider_keys.items()
    ]
    if not named:
        return {}  # `.env` is read only when a tenant brings a key
    environment = environment_values(env_file_values(env_file))
    keys: dict[str, dict[str, SecretStr]] = {}
    for tenant, provider, variable in named:
        value = environment.get(variable)
        if not value:
            raise ModelConfigurationError(
                f"{variable} is not set: {ENV_PREFIX}TENANT_OVERRIDES names it as the "
                f"{provider} key of tenant {tenant!r}"
            )
        keys.setdefault(tenant, {})[provider] = SecretStr(value)
    return keys


def env_file_values(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The variables `env_file` sets to a value; none when there is no such file."""
    if env_file is None or not env_file.is_file():
        return {}
    return {name: value for name, value in dotenv_values(env_file).items() if value}


def environment_values(env_file_values: Mapping[str, str]) -> dict[str, str]:
    """The process environment over the `.env` values, as the settings read them."""
    return {**env_file_values, **os.environ}
