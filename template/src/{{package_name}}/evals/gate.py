"""The gate: a run passes when every score meets its threshold and none fell below the baseline.

Each feature's thresholds live in `evals/<feature>/gate.yaml`, per profile (`classical` for the
offline classical model, `model` for every language model), per slice (`all` for every case)
and per metric. Scores are minimums; `latency_p95_ms` and `cost_per_case_usd` are maximums. A
baseline is a committed report of the same model (`evals/<feature>/baselines/`): a score more
than `tolerance` below its baseline is a regression, and the cases whose scores changed are
listed so a reviewer can read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ..llm.classical import PROVIDER as CLASSICAL
from .report import EvalReport, SliceSummary

BASELINES = "baselines"
"""Beside a feature's cases: its committed reports, one per model."""

Profile = Literal["classical", "model"]
CEILINGS = frozenset({"latency_p95_ms", "cost_per_case_usd"})
"""Metrics whose threshold is a maximum; every other threshold is a minimum."""

SliceThresholds = dict[str, dict[str, float]]


class GateConfig(BaseModel):
    """A feature's `evals/<feature>/gate.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance: Annotated[float, Field(ge=0, le=1)] = 0.02
    max_chars: dict[str, Annotated[int, Field(gt=0)]] = {}
    """The longest each guarded text field may be (triage: `summary`), checked per case."""
    forbidden_content: tuple[str, ...] = ()
    thresholds: dict[Profile, SliceThresholds]

    @classmethod
    def load(cls, path: Path) -> GateConfig:
        """Read and validate the file; ValueError (naming it) when it is not valid."""
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def for_model(self, model: str) -> SliceThresholds:
        """The thresholds that apply to `model`."""
        profile: Profile = "classical" if model.partition(":")[0] == CLASSICAL else "model"
        return self.thresholds.get(profile, {})


@dataclass(frozen=True, slots=True)
class CaseChange:
    """A case whose score moved against the baseline."""

    case: str
    metric: str
    baseline: float
    now: float


@dataclass
class Verdict:
    """What the gate found; it passes when `failures` is empty."""

    failures: list[str] = field(default_factory=list)
    worse: list[CaseChange] = field(default_factory=list)
    better: list[CaseChange] = field(default_factory=list)
    new_cases: list[str] = field(default_factory=list)
    compared_with_baseline: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures


def decide(report: EvalReport, config: GateConfig, baseline: EvalReport | None) -> Verdict:
    """Check `report` against the thresholds for its model and against `baseline`."""
    verdict = Verdict()
    for slice_name, thresholds in config.for_model(report.model).items():
        summary = report.slices.get(slice_name)
        if summary is None:
            verdict.failures.append(f"{slice_name}: no cases in this slice")
            continue
        verdict.failures.extend(_below_thresholds(slice_name, summary, thresholds))
    for slice_name, summary in report.slices.items():
        if summary.scorer_errors:
            verdict.failures.append(
                f"{slice_name}: a scorer failed on {summary.scorer_errors} case(s)"
            )
    if baseline is not None:
        verdict.compared_with_baseline = True
        _compare(report, baseline, config.tolerance, verdict)
    return verdict


def baseline_path(directory: Path, model: str) -> Path:
    """Where the baseline of `model` is kept: one file per model."""
    return directory / f"{model.replace(':', '--').replace('/', '_')}.json"


def load_baseline(path: Path) -> EvalReport | None:
    """The baseline at `path`, or None when there is none yet."""
    if not path.exists():
        return None
    return EvalReport.model_validate_json(path.read_text(encoding="utf-8"))


def _below_thresholds(
    slice_name: str, summary: SliceSummary, thresholds: Mapping[str, float]
) -> list[str]:
    measured: dict[str, float] = dict(summary.scores)
    measured["latency_p95_ms"] = summary.latency_p95_ms
    measured["cost_per_case_usd"] = float(summary.cost_per_case_usd)
    failures = []
    for metric, threshold in thresholds.items():
        value = measured.get(metric)
        if value is None:
            failures.append(f"{slice_name}: {metric} was not measured (threshold {threshold})")
        elif metric in CEILINGS and value > threshold:
            failures.append(f"{slice_name}: {metric} {value} is above its maximum {threshold}")
        elif metric not in CEILINGS and value < threshold:
            failures.append(f"{slice_name}: {metric} {value:.4f} is below {threshold}")
    if "cost_per_case_usd" in thresholds and summary.unpriced:
        failures.append(f"{slice_name}: {summary.unpriced} case(s) unpriced: cost unknown")
    return failures


def _compare(report: EvalReport, baseline: EvalReport, tolerance: float, verdict: Verdict) -> None:
    for slice_name, before in baseline.slices.items():
        now = report.slices.get(slice_name)
        if now is None:
            verdict.failures.append(f"{slice_name}: in the baseline, but no case ran")
            continue
        for metric, was in before.scores.items():
            score = now.scores.get(metric)
            if score is None:
                verdict.failures.append(f"{slice_name}: {metric} is in the baseline, not measured")
            elif score < was - tolerance:
                verdict.failures.append(
                    f"{slice_name}: {metric} fell from {was:.4f} to {score:.4f} "
                    f"(baseline {baseline.prompt}, tolerance {tolerance})"
                )
    for case in report.cases:
        old = baseline.case(case.name)
        if old is None:
            verdict.new_cases.append(case.name)
            continue
        for metric in case.scores.keys() & old.scores.keys():
            change = CaseChange(case.name, metric, old.scores[metric], case.scores[metric])
            if change.now < change.baseline:
                verdict.worse.append(change)
            elif change.now > change.baseline:
                verdict.better.append(change)
