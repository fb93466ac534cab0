"""`eval run`, `eval compare`, `eval gate`, `eval baseline update`: evals from the command line.

Every command runs each registered feature (or the one `--feature` names) on its own cases,
thresholds and baselines (`evals/<feature>/`), through one model and prompt label (defaults:
the configured `MODEL` and `production`); `compare` runs two. Reports go to
`evals/reports/<feature>/` as `report.json` and `report.md`; the terminal gets a table. The
scoring machinery is imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from ..command_features import chosen_features
from ..feature import Feature
from ..prompts import PromptError
from ..registry import Features, registered
from .cases import EVALS_DIR, GATE_FILE, dataset_dir
from .gate import BASELINES, GateConfig, Verdict

if TYPE_CHECKING:
    from .report import EvalReport

REPORTS_DIR = EVALS_DIR / "reports"

app = typer.Typer(no_args_is_help=True, help="Score the service's answers on the eval datasets.")
baseline_app = typer.Typer(no_args_is_help=True, help="The committed reports the gate compares.")
app.add_typer(baseline_app, name="baseline")

Model = Annotated[
    str | None, typer.Option("--model", help="provider:model to evaluate (default: MODEL)")
]
Label = Annotated[str, typer.Option("--prompt-label", help="The prompt label to evaluate")]
FeatureName = Annotated[
    str | None, typer.Option("--feature", help="The feature (default: every registered one)")
]
Dataset = Annotated[
    Path | None,
    typer.Option(help="A dataset file, or a directory of them (default: evals/<feature>)"),
]
Concurrency = Annotated[int, typer.Option(min=1, help="Cases answered at the same time")]
Retries = Annotated[int, typer.Option(min=0, help="Retries of a transient model failure")]
Judge = Annotated[
    str | None,
    typer.Option(envvar="EVAL_JUDGE_MODEL", help="provider:model grading summaries (optional)"),
]
Config = Annotated[
    Path | None,
    typer.Option(help="Thresholds and scorer settings (default: evals/<feature>/gate.yaml)"),
]
Reports = Annotated[
    Path | None,
    typer.Option(help="Where report.json and report.md go (default: evals/reports/<feature>)"),
]
Baselines = Annotated[
    Path | None,
    typer.Option(help="Directory of baseline reports (default: evals/<feature>/baselines)"),
]
Format = Literal["table", "markdown", "json"]


@dataclass(frozen=True, slots=True)
class Paths:
    """Where one feature's eval files are: its cases, its gate, its baselines, its reports."""

    dataset: Path
    config: Path
    baselines: Path
    reports: Path

    @classmethod
    def of(
        cls,
        feature: Feature,
        dataset: Path | None = None,
        config: Path | None = None,
        baselines: Path | None = None,
        reports: Path | None = None,
    ) -> Paths:
        home = dataset_dir(feature)
        return cls(
            dataset=dataset or home,
            config=config or home / GATE_FILE,
            baselines=baselines or home / BASELINES,
            reports=reports or REPORTS_DIR / feature.name,
        )


@app.command()
def run(
    feature: FeatureName = None,
    model: Model = None,
    prompt_label: Label = "production",
    dataset: Dataset = None,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    judge_model: Judge = None,
    config: Config = None,
    reports: Reports = None,
    output: Annotated[Format, typer.Option("--format", help="What to print")] = "table",
) -> None:
    """Score one model and prompt label on every case, per slice."""
    from .render import markdown, table

    features = registered()
    variant, pace = Variant(model, prompt_label, judge_model), Pace(concurrency, retries)
    documents: dict[str, object] = {}
    selected = chosen_features(features, feature, dataset=dataset, config=config, reports=reports)
    for chosen in selected:
        paths = Paths.of(chosen, dataset, config, None, reports)
        settings = _config(paths.config)
        report = _run(features, chosen, variant, paths.dataset, settings, pace)
        _write(report, paths.reports, None)
        if output == "json":
            documents[chosen.name] = report.model_dump(mode="json")
        else:
            typer.echo(markdown(report) if output == "markdown" else table(report))
    if output == "json":  # one document: each feature's report under its name
        typer.echo(json.dumps(documents, indent=2))


@app.command()
def compare(
    feature: FeatureName = None,
    model: Model = None,
    prompt_label: Label = "production",
    against_model: Annotated[
        str | None, typer.Option(help="The other provider:model (default: the same model)")
    ] = None,
    against_label: Annotated[
        str | None, typer.Option(help="The other prompt label (default: the same label)")
    ] = None,
    dataset: Dataset = None,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    judge_model: Judge = None,
    config: Config = None,
) -> None:
    """Run two variants (a prompt label or a model) on the same cases, side by side."""
    if against_model is None and against_label is None:
        raise typer.BadParameter(
            "give --against-model or --against-label", param_hint="--against-label"
        )
    from .render import comparison

    features = registered()
    variant, pace = Variant(model, prompt_label, judge_model), Pace(concurrency, retries)
    for chosen in chosen_features(features, feature, dataset=dataset, config=config):
        paths = Paths.of(chosen, dataset, config)
        settings = _config(paths.config)
        base = _run(features, chosen, variant, paths.dataset, settings, pace)
        other = _run(
            features,
            chosen,
            Variant(against_model or base.model, against_label or prompt_label, judge_model),
            paths.dataset,
            settings,
            pace,
        )
        typer.echo(comparison(base, other))


@app.command()
def gate(
    feature: FeatureName = None,
    model: Model = None,
    prompt_label: Label = "production",
    dataset: Dataset = None,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    judge_model: Judge = None,
    config: Config = None,
    baselines: Baselines = None,
    reports: Reports = None,
) -> None:
    """Fail (exit 1) when, for any feature, a score is under its threshold or fell below the
    baseline."""
    from .gate import baseline_path, decide, load_baseline
    from .render import table, verdict_lines

    features = registered()
    variant, pace = Variant(model, prompt_label, judge_model), Pace(concurrency, retries)
    passed = True
    selected = chosen_features(
        features, feature, dataset=dataset, config=config, baselines=baselines, reports=reports
    )
    for chosen in selected:
        paths = Paths.of(chosen, dataset, config, baselines, reports)
        thresholds = _config(paths.config)
        report = _run(features, chosen, variant, paths.dataset, thresholds, pace)
        baseline = load_baseline(baseline_path(paths.baselines, report.model))
        verdict = decide(report, thresholds, baseline)
        _write(report, paths.reports, verdict)
        typer.echo(table(report))
        typer.echo("\n".join(verdict_lines(verdict)))
        passed = passed and verdict.passed
    if not passed:
        raise typer.Exit(code=1)


@baseline_app.command("update")
def update_baseline(
    feature: FeatureName = None,
    model: Model = None,
    prompt_label: Label = "production",
    dataset: Dataset = None,
    concurrency: Concurrency = 4,
    retries: Retries = 2,
    config: Config = None,
    baselines: Baselines = None,
) -> None:
    """Run, and make the result the baseline of its model (commit the file it writes)."""
    from .gate import baseline_path

    features = registered()
    variant, pace = Variant(model, prompt_label, None), Pace(concurrency, retries)
    selected = chosen_features(
        features, feature, dataset=dataset, config=config, baselines=baselines
    )
    for chosen in selected:
        paths = Paths.of(chosen, dataset, config, baselines)
        report = _run(features, chosen, variant, paths.dataset, _config(paths.config), pace)
        path = baseline_path(paths.baselines, report.model)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        typer.echo(f"Wrote {path} ({report.model} with {report.prompt})")


@dataclass(frozen=True, slots=True)
class Variant:
    """What is evaluated: a model (None: the configured one), a prompt label, and the judge."""

    model: str | None
    label: str
    judge_model: str | None


@dataclass(frozen=True, slots=True)
class Pace:
    """How hard a run pushes the model: cases at a time, retries of a transient failure."""

    concurrency: int
    retries: int


def _run(
    features: Features,
    feature: Feature,
    variant: Variant,
    dataset: Path,
    config: GateConfig,
    pace: Pace,
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
        feature=feature.name,
        model=variant.model or settings.model,
        prompt_label=variant.label,
        dataset=dataset,
        concurrency=pace.concurrency,
        retries=pace.retries,
        judge_model=variant.judge_model,
    )
    try:
        return asyncio.run(run_eval(options, settings, config, features))
    except (ValueError, PromptError, ModelConfigurationError) as exc:
        typer.echo(f"Cannot run the eval of {feature.name}: {exc}", err=True)
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
