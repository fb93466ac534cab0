"""`<slug> feature new NAME`: the command that writes a feature (see `writer.py`)."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Annotated

import typer

from .writer import FORBIDDEN, Project, ScaffoldError, gate_file, write_feature

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The service's features.")

PACKAGE = __package__.rpartition(".")[0]


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="The feature's name, e.g. contract-summary")],
) -> None:
    """Write a working feature, register it, and measure its first eval baseline.

    Run it at the project's root. Then make the feature yours: edit its schemas, rules and
    prompt, its eval cases, and run `make all` and `make eval-gate`.
    """
    try:
        written = write_feature(Project(Path(), PACKAGE), name)
    except ScaffoldError as exc:
        typer.echo(f"Cannot write the feature: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    written.files += _measure(written.names.module)
    module, route = written.names.module, written.names.route
    typer.echo(f"Wrote the {module} feature, served at POST {route}:")
    for path in written.files:
        typer.echo(f"  {path}")
    typer.echo(
        f"Next: edit src/{PACKAGE}/features/{module}/schemas.py, rules.py and "
        f"prompts/{module}/v1.md, then the cases in evals/{module}/; run `make all` and "
        "`make eval-gate` (docs/evals.md says how to move a baseline)."
    )


def _measure(module: str) -> list[Path]:
    """Score the new feature's starter cases with its rules: its gate and first baseline."""
    from ..evals.cases import dataset_dir
    from ..evals.gate import BASELINES, GateConfig, baseline_path
    from ..evals.runner import RunOptions, run_eval
    from ..evals.settings import EvalSettings
    from ..registry import registered
    from ..settings import CLASSICAL_MODEL

    importlib.reload(importlib.import_module(f"{PACKAGE}.features"))
    registered.cache_clear()
    features = registered()
    home = dataset_dir(features.get(module))
    options = RunOptions(module, CLASSICAL_MODEL, "production", home)
    config = GateConfig(
        thresholds={}, max_chars={"summary": 240}, forbidden_content=tuple(FORBIDDEN)
    )
    report = asyncio.run(run_eval(options, EvalSettings(), config, features))
    gate = home / "gate.yaml"
    gate.write_text(gate_file(module, report.slices["all"].scores), encoding="utf-8")
    baseline = baseline_path(home / BASELINES, report.model)
    baseline.parent.mkdir(parents=True, exist_ok=True)
    baseline.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return [gate, baseline]
