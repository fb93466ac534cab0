"""`eval run`, `eval compare`, `eval gate`, `eval baseline update`: evals from the command line.

Every command runs the dataset through one model and prompt label (defaults: the configured
`MODEL` and `production`); `compare` runs two. Reports go to `--reports` as `report.json` and
`report.md`; the terminal gets a table. The scoring machinery is imported when a command runs,
not when the CLI starts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from ..prompts import PromptError
from .cases import DEFAULT_DATASET
from .gate import DEFAULT_BASELINES, DEFAULT_CONFIG, GateConfig, Verdict

if TYPE_CHECKING:
    from .report import EvalReport

DEFAULT_REPORTS = Path("evals/reports")

app = typer.Typer(no_args_is_help=True, help="Score the service's answers on the eval datasets.")
baseline_app = typer.Typer(no_args_is_help=True, help="The committed reports the gate compares.")
app.add_typer(baseline_app, name="baseline")

Model = Annotated[
    str | None, typer.Option("--model", help="provider:model to evaluate (default: MODEL)")
]
Label = Annotated[str, typer.Option("--prompt-label", help="The prompt label to evaluate")]
Dataset = Annotated[Path, typer.Option(help="A dataset file, or a directory of them")]
Concurrency = Annotated[int, typer.Option(min=1, help="Cases answered at the same time")]
Retries = Annotated[int, typer.Option(min=0, help="Retries of a transient model failure")]
Judge = Annotated[
    str | None,
    typer.Option(envvar="EVAL_JUDGE_MODEL", help="provider:model grading summaries (optional)"),
]
Config = Annotated[Path, typer.Option(help="Thresholds and scorer settings")]
Reports = Annotated[Path, typer.Option(help="Where report.json and report.md are written")]
Format = Literal["table", "markdown", "json"]


@app.command()
def run(
    model: Model = None,
    prompt_label: Label = "production",
    dataset: Dataset = DEFAULT_DATASET,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    judge_model: Judge = None,
    config: Config = DEFAULT_CONFIG,
    reports: Reports = DEFAULT_REPORTS,
    output: Annotated[Format, typer.Option("--format", help="What to print")] = "table",
) -> None:
    """Score one model and prompt label on every case, per slice."""
    report = _run(model, prompt_label, dataset, concurrency, retries, judge_model, _config(config))
    _write(report, reports, None)
    from .render import markdown, table

    if output == "json":
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(markdown(report) if output == "markdown" else table(report))


@app.command()
def compare(
    model: Model = None,
    prompt_label: Label = "production",
    against_model: Annotated[
        str | None, typer.Option(help="The other provider:model (default: the same model)")
    ] = None,
    against_label: Annotated[
        str | None, typer.Option(help="The other prompt label (default: the same label)")
    ] = None,
    dataset: Dataset = DEFAULT_DATASET,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    judge_model: Judge = None,
    config: Config = DEFAULT_CONFIG,
) -> None:
    """Run two variants (a prompt label or a model) on the same cases, side by side."""
    if against_model is None and against_label is None:
        raise typer.BadParameter(
            "give --against-model or --against-label", param_hint="--against-label"
        )
    settings = _config(config)
    base = _run(model, prompt_label, dataset, concurrency, retries, judge_model, settings)
    other = _run(
        against_model or base.model,
        against_label or prompt_label,
        dataset,
        concurrency,
        retries,
        judge_model,
        settings,
    )
    from .render import comparison

    typer.echo(comparison(base, other))


@app.command()
def gate(
    model: Model = None,
    prompt_label: Label = "production",
    dataset: Dataset = DEFAULT_DATASET,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    judge_model: Judge = None,
    config: Config = DEFAULT_CONFIG,
    baselines: Annotated[Path, typer.Option(help="Directory of baseline reports")] = (
        DEFAULT_BASELINES
    ),
    reports: Reports = DEFAULT_REPORTS,
) -> None:
    """Fail (exit 1) when a score is under its threshold or fell below the baseline."""
    from .gate import baseline_path, decide, load_baseline
    from .render import table, verdict_lines

    thresholds = _config(config)
    report = _run(model, prompt_label, dataset, concurrency, retries, judge_model, thresholds)
    verdict = decide(report, thresholds, load_baseline(baseline_path(baselines, report.model)))
    _write(report, reports, verdict)
    typer.echo(table(report))
    typer.echo("\n".join(verdict_lines(verdict)))
    if not verdict.passed:
        raise typer.Exit(code=1)


@baseline_app.command("update")
def update_baseline(
    model: Model = None,
    prompt_label: Label = "production",
    dataset: Dataset = DEFAULT_DATASET,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    config: Config = DEFAULT_CONFIG,
    baselines: Annotated[Path, typer.Option(help="Directory of baseline reports")] = (
        DEFAULT_BASELINES
    ),
) -> None:
    """Run, and make the result the baseline of its model (commit the file it writes)."""
    from .gate import baseline_path

    report = _run(model, prompt_label, dataset, concurrency, retries, None, _config(config))
    path = baseline_path(baselines, report.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    typer.echo(f"Wrote {path} ({report.model} with {report.prompt})")


def _run(
    model: str | None,
    label: str,
    dataset: Path,
    concurrency: int,
    retries: int,
    judge_model: str | None,
    config: GateConfig,
) -> EvalReport:
    from ..llm.errors import ModelConfigurationError
    from .runner import RunOptions, run_eval
    from .settings import EvalSettings

    try:
        settings = EvalSettings()
    except (ValidationError, SettingsError) as exc:
        typer.echo(f"Invalid configuration:\n{exc}", err=True)
        raise typer.Exit(code=2) from exc
    options = RunOptions(
        model=model or settings.model,
        prompt_label=label,
        dataset=dataset,
        concurrency=concurrency,
        retries=retries,
        judge_model=judge_model,
    )
    try:
        return asyncio.run(run_eval(options, settings, config))
    except (ValueError, PromptError, ModelConfigurationError) as exc:
        typer.echo(f"Cannot run the eval: {exc}", err=True)
        raise typer.Exit(code=2) from exc


def _config(path: Path) -> GateConfig:
    try:
        return GateConfig.load(path)
    except ValueError as exc:
        typer.echo(f"Invalid gate configuration: {exc}", err=True)
        raise typer.Exit(code=2) from exc


def _write(report: EvalReport, directory: Path, verdict: Verdict | None) -> None:
    from .render import markdown

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(report.model_dump_json(indent=2) + "\n", "utf-8")
    (directory / "report.md").write_text(markdown(report, verdict), "utf-8")
