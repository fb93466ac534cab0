"""Command-line entry point: serve the API, or check the configuration without serving."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from .logs import configure_logging
from .settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        typer.echo(f"Invalid configuration:\n{exc}", err=True)
        raise typer.Exit(code=2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default: settings)")] = None,
) -> None:
    """Serve the API with uvicorn."""
    settings = _load_settings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        f"{__package__}.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        ws="none",  # no WebSocket routes: skip loading a WebSocket stack at start-up
    )


@app.command()
def check() -> None:
    """Load the settings, prompts and model as `serve` would, then exit (0 when all is well)."""
    from .app import create_app

    settings = _load_settings()
    try:
        create_app(settings)
    except Exception as exc:
        typer.echo(f"Configuration check failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"OK: model {settings.model}, prompts in {settings.prompts_dir}")
