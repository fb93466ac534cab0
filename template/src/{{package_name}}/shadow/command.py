"""`shadow report`: the operator's view of shadow runs, read from the service's database."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Literal

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from ..command_settings import load_settings
from ..settings import Settings
from .report import ShadowLine, csv_report, shadow_report, table_report

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Shadow mode: candidates beside live answers."
)


@app.command()
def report(
    since: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First UTC day (default: 1st of this month)"),
    ] = None,
    until: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last UTC day (default: today)")
    ] = None,
    output: Annotated[Literal["table", "csv"], typer.Option("--format", help="Output format")] = (
        "table"
    ),
) -> None:
    """Per feature and live -> shadow pair: runs, errors and timeouts, agreement on each aspect
    the feature compares, p50/p95 latency and cost of each side."""
    settings = load_settings()
    last = until.date() if until else dt.datetime.now(dt.UTC).date()
    first = since.date() if since else last.replace(day=1)
    if first > last:
        raise typer.BadParameter("--since must not be after --until", param_hint="--since")
    try:
        lines = asyncio.run(_read(settings, first, last))
    except (DBAPIError, OSError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        typer.echo(
            f"Cannot read the shadow comparisons ({reason}); has the service run against this "
            "database?",
            err=True,
        )
        raise typer.Exit(code=1) from exc
    typer.echo(csv_report(lines) if output == "csv" else table_report(lines), nl=False)


async def _read(settings: Settings, since: dt.date, until: dt.date) -> list[ShadowLine]:
    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        return await shadow_report(engine, since=since, until=until)
    finally:
        await engine.dispose()
