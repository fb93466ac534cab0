"""Settings for a command: an invalid configuration ends it with exit code 2 and the errors."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from .settings import Settings


def load_settings(**options: Any) -> Settings:
    """The service's settings from the environment and `.env`, under the command's `options`
    (by setting name; None: not given), or exit 2 saying what is wrong."""
    given = {name: value for name, value in options.items() if value is not None}
    try:
        return Settings(**given)
    except (ValidationError, SettingsError) as exc:  # SettingsError: a value that is not JSON
        typer.echo(f"Invalid configuration:\n{exc}", err=True)
        raise typer.Exit(code=2) from exc
