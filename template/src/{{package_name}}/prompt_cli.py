"""`prompts` commands: list, show and compare prompt versions; move a label, with an audit entry.

They read the prompt files and labels the service reads (`PROMPTS_DIR`) and, to promote, write
to the service's audit trail (`DATABASE_URL`). Those are the only settings they read, so they
work where the service's API keys and model credentials are not configured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from .audit import AuditEvent, append
from .database.migrate import migrate
from .prompt_labels import move_label, replace_file
from .prompts import (
    LABEL_PATTERN,
    LABELS_FILE,
    PRODUCTION,
    Prompt,
    PromptCatalog,
    PromptError,
    PromptRegistry,
    check_catalog,
    parse_labels,
)
from .settings import PARTIAL_SETTINGS_CONFIG, Settings
from .text_tables import aligned

LIST_COLUMNS = ("prompt", "version", "labels", "description")
PROMOTED = "prompt.promoted"
"""The audit action of a label move: subject `<prompt>:<label>`, details `{from, to}`."""

prompts_app = typer.Typer(
    no_args_is_help=True, help="List, show, compare and promote prompt versions."
)


class PromptSettings(BaseSettings):
    """The two settings these commands need, read as `Settings` reads them (same environment
    variables, same `.env`), with the same defaults."""

    model_config = PARTIAL_SETTINGS_CONFIG

    prompts_dir: Path = Settings.model_fields["prompts_dir"].default
    database_url: SecretStr = Settings.model_fields["database_url"].default


@prompts_app.command("list")
def list_prompts() -> None:
    """Every prompt version, the labels serving it, and its description."""
    catalog = _catalog(PromptSettings())
    rows: list[tuple[str, str, str, str]] = []
    for name in catalog.registry.names():
        for prompt in catalog.registry.versions(name):
            serving = ", ".join(_labels_of(catalog, prompt)) or "-"
            rows.append((name, str(prompt.metadata.version), serving, prompt.metadata.description))
    for line in aligned(LIST_COLUMNS, rows, numeric={"version"}):
        typer.echo(line)


@prompts_app.command()
def show(
    name: Annotated[str, typer.Argument(help="The prompt's name, e.g. triage")],
    version: Annotated[int | None, typer.Option(help="This version")] = None,
    label: Annotated[str | None, typer.Option(help="The version this label serves")] = None,
) -> None:
    """Print a prompt version's file (front matter and template); by default, production's.

    The file goes to standard output as it is (`... > v2.md` starts a new version from it);
    the version, its labels and its path go to standard error.
    """
    if version is not None and label is not None:
        _fail("Give --version or --label, not both.", code=2)
    catalog = _catalog(PromptSettings())
    if version is not None:
        prompt = _version(catalog.registry, name, version)
    else:
        prompt = _labelled(catalog, name, label or PRODUCTION)
    serving = ", ".join(_labels_of(catalog, prompt)) or "no labels"
    typer.echo(f"{prompt.ref} ({serving}) {prompt.source}", err=True)
    typer.echo(prompt.source.read_text(encoding="utf-8"), nl=False)


@prompts_app.command()
def diff(
    name: Annotated[str, typer.Argument(help="The prompt's name, e.g. triage")],
    old: Annotated[int, typer.Argument(help="The version to compare from")],
    new: Annotated[int, typer.Argument(help="The version to compare to")],
) -> None:
    """The changes from one version's file to another's, as a unified diff."""
    registry = _catalog(PromptSettings()).registry
    before, after = _version(registry, name, old), _version(registry, name, new)
    lines = difflib.unified_diff(
        before.source.read_text(encoding="utf-8").splitlines(),
        after.source.read_text(encoding="utf-8").splitlines(),
        fromfile=str(before.source),
        tofile=str(after.source),
        lineterm="",
    )
    for line in lines:
        typer.echo(line)


@prompts_app.command()
def promote(
    name: Annotated[str, typer.Argument(help="The prompt's name, e.g. triage")],
    label: Annotated[str, typer.Argument(help="The label to move, e.g. production or canary")],
    version: Annotated[int, typer.Argument(help="The version it will serve")],
    actor: Annotated[
        str | None, typer.Option(help="Who is promoting, for the audit trail (default: you)")
    ] = None,
) -> None:
    """Point LABEL of prompt NAME at VERSION, then record who did it in the audit trail.

    Only that label's line of labels.yaml changes (a new label gets a line of its own); the
    result is checked as the service checks it at start-up, and refused if invalid. Running
    services pick the change up within a second.
    """
    settings = PromptSettings()
    path = settings.prompts_dir / LABELS_FILE
    try:
        registry = PromptRegistry.from_directory(settings.prompts_dir)
        text = path.read_text(encoding="utf-8")
        labels = parse_labels(text, path)
    except (PromptError, OSError) as exc:
        _fail(f"Cannot read the prompts: {exc}", code=1)
    if not LABEL_PATTERN.match(label):
        _fail(f"{label!r} is not a label: use lowercase letters, digits, - and _.", code=2)
    _version(registry, name, version)
    previous = labels.versions.get(name, {}).get(label)
    if previous == version:
        typer.echo(f"{name} {label} already serves version {version}; nothing to do.")
        return
    try:
        moved = move_label(text, path, name, label, version)
        check_catalog(registry, parse_labels(moved, path), _feature_schemas())
    except PromptError as exc:
        _fail(f"Refused, labels.yaml is unchanged: {exc}", code=1)
    promotion = Promotion(actor or _operator(), name, label, previous, version)
    asyncio.run(_move_and_record(settings.database_url, path, text, moved, promotion))
    typer.echo(
        f"{name} {label}: {_describe(previous)} -> version {version}, recorded as "
        f"{promotion.actor}. Services reading this directory serve it within a second."
    )


@dataclass(frozen=True, slots=True)
class Promotion:
    """One label move, as the audit trail records it."""

    actor: str
    name: str
    label: str
    previous: int | None
    version: int

    def event(self) -> AuditEvent:
        return AuditEvent(
            occurred_at=dt.datetime.now(dt.UTC),
            actor=self.actor,
            action=PROMOTED,
            subject=f"{self.name}:{self.label}",
            tenant=None,
            details={"from": self.previous, "to": self.version},
        )


async def _move_and_record(
    database_url: SecretStr, path: Path, before: str, after: str, promotion: Promotion
) -> None:
    """Move the label inside the audit entry's transaction: when the entry cannot be written
    or committed, the labels file is put back, so no move goes unrecorded and no entry
    records a move that did not happen."""
    engine = create_async_engine(database_url.get_secret_value())
    moved = False
    try:
        try:
            await migrate(engine)
        except (DBAPIError, OSError) as exc:
            _fail(f"Cannot open the audit trail ({_reason(exc)}); the label was not moved.", code=1)
        try:
            async with engine.begin() as connection:
                replace_file(path, after)
                moved = True
                await append(connection, promotion.event())
        except (DBAPIError, OSError) as exc:
            if moved:
                replace_file(path, before)
            _fail(f"Cannot record the promotion ({_reason(exc)}); the label was not moved.", code=1)
    finally:
        await engine.dispose()


def _reason(exc: DBAPIError | OSError) -> object:
    return exc.orig if isinstance(exc, DBAPIError) else exc


def _feature_schemas() -> dict[str, str]:
    # Imported here: `components` loads the whole service, which `--help` does not need.
    from .registry import registered

    return registered().output_schemas


def _catalog(settings: PromptSettings) -> PromptCatalog:
    """The prompts and labels, checked as the service checks them at start-up."""
    try:
        return PromptCatalog(settings.prompts_dir, _feature_schemas())
    except (PromptError, OSError) as exc:
        _fail(f"Invalid prompts: {exc}", code=1)


def _version(registry: PromptRegistry, name: str, version: int) -> Prompt:
    versions = _versions(registry, name)
    if version not in versions:
        _fail(f"{name} has no version {version} (it has {_listed(versions)}).", code=2)
    return registry.get(name, version)


def _labelled(catalog: PromptCatalog, name: str, label: str) -> Prompt:
    _versions(catalog.registry, name)
    serving = catalog.labels.versions.get(name, {})
    if label not in serving:
        _fail(f"{name} has no label {label!r} (it has {_listed(serving) or 'none'}).", code=2)
    return catalog.registry.get(name, serving[label])


def _versions(registry: PromptRegistry, name: str) -> list[int]:
    versions = [prompt.metadata.version for prompt in registry.versions(name)]
    if not versions:
        _fail(f"There is no prompt named {name!r}.", code=2)
    return versions


def _labels_of(catalog: PromptCatalog, prompt: Prompt) -> list[str]:
    serving = catalog.labels.versions.get(prompt.metadata.name, {})
    return [label for label, version in serving.items() if version == prompt.metadata.version]


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name, e.g. a container running as a bare UID
        _fail("Cannot tell who you are: pass --actor.", code=2)


def _listed(items: Iterable[object]) -> str:
    return ", ".join(str(item) for item in items)


def _describe(version: int | None) -> str:
    return "unset" if version is None else f"version {version}"


def _fail(message: str, *, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code=code)
