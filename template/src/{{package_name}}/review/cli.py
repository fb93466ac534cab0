"""`review` commands: turn what reviewers and clients corrected into eval cases."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
import yaml
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from ..command_settings import load_settings
from ..configured_secrets import configured_secrets
from ..database.times import utc
from ..redaction import Redactor
from ..settings import Settings
from .export import CorrectedAnswer, add_cases, corrected_answers

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Human review of answers.")

DEFAULT_DATASET = Path("evals/triage/production.yaml")


@app.command("export")
def export(
    output: Annotated[Path, typer.Option(help="The dataset file to add cases to")] = (
        DEFAULT_DATASET
    ),
    since: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only corrections from this UTC day on"),
    ] = None,
) -> None:
    """Add resolved reviews and corrective feedback to an eval dataset, as new cases."""
    settings = load_settings()
    try:
        corrected = asyncio.run(_read(settings, utc(since) if since else None))
    except (DBAPIError, OSError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        typer.echo(f"Cannot read the answers ({reason}); has the service run against it?", err=True)
        raise typer.Exit(code=1) from exc
    try:
        result = add_cases(output, corrected, Redactor(configured_secrets(settings)))
    except (ValueError, yaml.YAMLError) as exc:
        typer.echo(f"{output} is not a triage eval dataset: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    for name in result.unfit:
        typer.echo(
            f"Left out {name}: its redacted ticket is longer than a ticket may be.", err=True
        )
    typer.echo(f"Added {result.added} cases to {output} ({result.total} in all).")


async def _read(settings: Settings, since: dt.datetime | None) -> list[CorrectedAnswer]:
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        return await corrected_answers(engine, since)
    finally:
        await engine.dispose()
