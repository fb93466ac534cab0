"""Settings for a command: an invalid configuration ends it with exit code 2 and the errors."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from .settings import Settings


def load_settings() -> Settings:
    """The service's settings from the environment and `.env`, or exit 2 saying what is wrong."""
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:  # SettingsError: a value that is not JSON
        typer.echo(f"Invalid configuration:\n{exc}", err=True)
        raise typer.Exit(code=2) from exc
