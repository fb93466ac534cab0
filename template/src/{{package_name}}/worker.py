"""The app as each server process builds it: its logging first, then the service.

`serve --workers N` runs a supervisor that starts N worker processes, each a new interpreter
that imports the service again: the logging the command configured does not reach them. So
every worker configures its own (JSON, redacted) from the same settings before it builds the
app; with one worker the process is the command's own and this only repeats that step.
"""

from __future__ import annotations

from fastapi import FastAPI

from .app import create_app
from .configured_secrets import configured_secrets
from .logs import configure_logging
from .redaction import Redactor
from .settings import Settings


def create_worker_app() -> FastAPI:
    """uvicorn's factory for each worker: the command has already validated these settings."""
    settings = Settings()
    configure_logging(
        settings.log_level, settings.log_format, Redactor(configured_secrets(settings))
    )
    return create_app(settings)
