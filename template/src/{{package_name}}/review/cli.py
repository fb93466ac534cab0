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

from ..command_features import chosen_features
from ..command_settings import load_settings
from ..configured_secrets import configured_secrets
from ..database.times import utc
from ..evals.cases import dataset_dir
from ..feature import Feature
from ..redaction import Redactor
from ..registry import registered
from ..settings import Settings
from .export import SLICE, CorrectedAnswer, add_cases, corrected_answers

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Human review of answers.")


@app.command("export")
def export(
    feature: Annotated[
        str | None,
        typer.Option("--feature", help="The feature (default: every registered one)"),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="The dataset file to add cases to (default: evals/<feature>/production.yaml)"
        ),
    ] = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only corrections from this UTC day on"),
    ] = None,
) -> None:
    """Add resolved reviews and corrective feedback to each feature's eval dataset, as new
    cases."""
    settings = load_settings()
    redactor = Redactor(configured_secrets(settings))
    for chosen in chosen_features(registered(), feature, output=output):
        path = output or dataset_dir(chosen) / f"{SLICE}.yaml"
        try:
            corrected = asyncio.run(_read(settings, chosen, utc(since) if since else None))
        except (DBAPIError, OSError) as exc:
            reason = exc.orig if isinstance(exc, DBAPIError) else exc
            typer.echo(
                f"Cannot read the answers ({reason}); has the service run against it?", err=True
            )
            raise typer.Exit(code=1) from exc
        try:
            result = add_cases(chosen, path, corrected, redactor)
        except (ValueError, yaml.YAMLError) as exc:
            typer.echo(f"{path} is not a {chosen.name} eval dataset: {exc}", err=True)
            raise typer.Exit(code=1) from exc
        for name in result.unfit:
            typer.echo(
                f"Left out {name}: its redacted request no longer fits {chosen.name}'s schema.",
                err=True,
            )
        typer.echo(f"Added {result.added} cases to {path} ({result.total} in all).")


async def _read(
    settings: Settings, feature: Feature, since: dt.datetime | None
) -> list[CorrectedAnswer]:
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        return await corrected_answers(engine, feature.name, since)
    finally:
        await engine.dispose()
