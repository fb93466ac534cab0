"""Every secret this process holds, so log and span redaction can remove it wherever it appears.

The service's own secrets come from its settings (API keys, passwords inside database and Redis
URLs). Provider SDK keys are read by name from the environment and `.env`: any variable whose
name ends in `API_KEY`, `TOKEN`, `SECRET` or `PASSWORD`, whichever provider it belongs to, and
every variable a tenant's `provider_keys` names, whatever it is called.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .settings import Settings
from .tenant_keys import env_file_values, environment_values

_SECRET_NAME = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)


def configured_secrets(settings: Settings, env_file: Path | None = Path(".env")) -> list[str]:
    """Secret values to redact; values shorter than 8 characters are left to the redactor."""
    from_file = env_file_values(env_file)  # read once: parsing `.env` dominates this function
    found = [
        *_from_settings(settings),
        *_secret_named(os.environ),
        *_secret_named(from_file),
        *_tenant_provider_keys(settings, environment_values(from_file)),
    ]
    return sorted(set(filter(None, found)))


def _from_settings(settings: Settings) -> Iterator[str]:
    for api_key in settings.api_keys:
        yield api_key.key.get_secret_value()
    for url in (settings.database_url, settings.redis_url):
        if url is not None:
            yield urlsplit(url.get_secret_value()).password or ""


def _secret_named(variables: Mapping[str, str]) -> Iterator[str]:
    for name, value in variables.items():
        if value and _SECRET_NAME.search(name):
            yield value


def _tenant_provider_keys(settings: Settings, environment: Mapping[str, str]) -> Iterator[str]:
    for override in settings.tenant_overrides.values():
        for variable in override.provider_keys.values():
            yield environment.get(variable, "")
