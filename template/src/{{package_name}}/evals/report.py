"""An eval run's report: per-case scores, and per-slice means, latency and cost.

Plain data, so it can be committed as a baseline, compared with another run, and read by the
gate. Every score is a number from 0 to 1 (a check
that passed is 1); a slice's score is the mean over the cases the scorer applied to.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal

from pydantic import BaseModel

from .task import EvalAnswer

ALL = "all"
"""The slice name of every case together."""


class CaseResult(BaseModel):
    """One case: its scores, what the model answered, and any scorer that failed to run."""

    name: str
    slice: str
    scores: dict[str, float]
    answer: EvalAnswer
    scorer_errors: dict[str, str] = {}


class SliceSummary(BaseModel):
    """The cases of one slice, summed up."""

    cases: int
    scores: dict[str, float]
    """Mean of each score over the cases it applied to."""
    errors: int
    """Cases with no valid answer (outside the schema, refused, rejected, failed)."""
    scorer_errors: int
    latency_p50_ms: float
    latency_p95_ms: float
    cost_usd: Decimal
    cost_per_case_usd: Decimal
    unpriced: int
    """Cases whose model has no price: their cost is unknown, not zero."""


class EvalReport(BaseModel):
    """What one model and prompt version scored on a dataset."""

    model: str
    prompt: str
    dataset: str
    created_at: dt.datetime
    skipped: dict[str, str] = {}
    """Scorers that did not run, and why (e.g. the judge without a key)."""
    slices: dict[str, SliceSummary]
    cases: list[CaseResult]

    def case(self, name: str) -> CaseResult | None:
        return next((case for case in self.cases if case.name == name), None)


def build_report(
    results: Sequence[CaseResult], *, model: str, prompt: str, dataset: str, skipped: dict[str, str]
) -> EvalReport:
    """The report of one run: its cases by name, and each slice (and `all`) summed up."""
    cases = sorted(results, key=lambda case: case.name)
    slices = {name: [case for case in cases if case.slice == name] for name in _slices(cases)}
    return EvalReport(
        model=model,
        prompt=prompt,
        dataset=dataset,
        created_at=dt.datetime.now(dt.UTC),
        skipped=skipped,
        slices={ALL: summarise(cases)} | {name: summarise(group) for name, group in slices.items()},
        cases=cases,
    )


def summarise(cases: Sequence[CaseResult]) -> SliceSummary:
    """Means, latency percentiles and cost of `cases`."""
    metrics = sorted({metric for case in cases for metric in case.scores})
    scores = {
        metric: round(_mean(c.scores[metric] for c in cases if metric in c.scores), 4)
        for metric in metrics
    }
    latencies = sorted(case.answer.latency_ms for case in cases)
    costs = [case.answer.cost_usd for case in cases if case.answer.cost_usd is not None]
    total = sum(costs, Decimal(0))
    return SliceSummary(
        cases=len(cases),
        scores=scores,
        errors=sum(case.answer.result is None for case in cases),
        scorer_errors=sum(bool(case.scorer_errors) for case in cases),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        cost_usd=total,
        cost_per_case_usd=total / len(costs) if costs else Decimal(0),
        unpriced=len(cases) - len(costs),
    )


def percentile(ordered: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of an ascending sequence (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


def _slices(cases: Iterable[CaseResult]) -> list[str]:
    return sorted({case.slice for case in cases})


def _mean(values: Iterable[float]) -> float:
    collected = list(values)
    return sum(collected) / len(collected)
