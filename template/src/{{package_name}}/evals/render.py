"""Reports for people: an aligned table for the terminal, Markdown for pull requests.

Both show one row per metric and one column per slice (`all` first), then latency and cost, so
a regression in one slice is visible next to the others. JSON is the report model itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text_tables import aligned
from .gate import Verdict
from .report import EvalReport, SliceSummary

MAX_LISTED_CASES = 30


def table(report: EvalReport) -> str:
    """The per-slice table, for a terminal."""
    columns, rows = _grid(report)
    lines = [f"{report.model} with {report.prompt} on {report.dataset}"]
    lines += aligned(columns, rows, numeric=set(columns[1:]))
    lines += [f"skipped {metric}: {why}" for metric, why in report.skipped.items()]
    return "\n".join(lines)


def markdown(report: EvalReport, verdict: Verdict | None = None) -> str:
    """The per-slice table, cases without a valid answer, and the gate's verdict if any."""
    columns, rows = _grid(report)
    lines = [
        f"# Eval: `{report.model}` with `{report.prompt}`",
        "",
        f"Dataset `{report.dataset}`, {report.slices['all'].cases} cases, "
        f"{report.created_at:%Y-%m-%d %H:%M} UTC.",
        "",
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(columns) - 1)) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if report.skipped:
        lines += ["", *(f"- skipped `{m}`: {why}" for m, why in report.skipped.items())]
    failed = [case for case in report.cases if case.answer.error]
    if failed:
        lines += ["", "## Cases without a valid answer", ""]
        lines += [f"- `{case.name}`: {case.answer.error}" for case in failed[:MAX_LISTED_CASES]]
    if verdict is not None:
        lines += ["", *verdict_lines(verdict, markdown=True)]
    return "\n".join(lines) + "\n"


def comparison(base: EvalReport, other: EvalReport) -> str:
    """Two runs on the same cases: each metric of every case together, and what changed."""
    columns = ["metric", _label(base), _label(other), "change"]
    rows: list[list[str]] = []
    for name in base.slices.keys() | other.slices.keys():
        before, after = base.slices.get(name), other.slices.get(name)
        if before is None or after is None:
            continue
        for metric in sorted(before.scores.keys() | after.scores.keys()):
            a, b = before.scores.get(metric), after.scores.get(metric)
            change = f"{b - a:+.3f}" if a is not None and b is not None else ""
            rows.append([f"{name}: {metric}", _number(a), _number(b), change])
        rows.append([f"{name}: latency p95 ms", _ms(before), _ms(after), ""])
        rows.append([f"{name}: cost USD", _usd(before), _usd(after), ""])
    rows.sort(key=lambda row: (not row[0].startswith("all:"), row[0]))
    lines = aligned(columns, rows, numeric={columns[1], columns[2], "change"})
    changed = [
        f"  {case.name}: "
        + ", ".join(
            f"{metric} {case.scores[metric]:g} -> {later.scores[metric]:g}"
            for metric in sorted(case.scores.keys() & later.scores.keys())
            if case.scores[metric] != later.scores[metric]
        )
        for case in base.cases
        if (later := other.case(case.name)) is not None and later.scores != case.scores
    ]
    if changed:
        lines += ["", f"{len(changed)} case(s) scored differently:", *changed]
    return "\n".join(lines)


def verdict_lines(verdict: Verdict, *, markdown: bool = False) -> list[str]:
    """The gate's verdict: why it failed, and which cases changed against the baseline."""
    bullet = "- " if markdown else "  "
    lines = ["Gate: passed" if verdict.passed else "Gate: FAILED"]
    lines += [f"{bullet}{failure}" for failure in verdict.failures]
    if not verdict.compared_with_baseline:
        lines.append(f"{bullet}no baseline for this model: thresholds only")
    for title, changes in (("worse", verdict.worse), ("better", verdict.better)):
        if changes:
            lines.append(f"Cases scoring {title} than the baseline ({len(changes)}):")
            lines += [
                f"{bullet}{c.case}: {c.metric} {c.baseline:g} -> {c.now:g}"
                for c in changes[:MAX_LISTED_CASES]
            ]
    if verdict.new_cases:
        lines.append(f"Cases not in the baseline: {', '.join(verdict.new_cases)}")
    return lines


def _grid(report: EvalReport) -> tuple[list[str], list[list[str]]]:
    slices: Sequence[tuple[str, SliceSummary]] = list(report.slices.items())
    columns = ["metric", *(f"{name} ({summary.cases})" for name, summary in slices)]
    metrics = sorted({metric for _, summary in slices for metric in summary.scores})
    rows = [[metric, *(_number(s.scores.get(metric)) for _, s in slices)] for metric in metrics]
    rows.append(["no valid answer", *(str(s.errors) for _, s in slices)])
    rows.append(["latency p50 ms", *(f"{s.latency_p50_ms:.1f}" for _, s in slices)])
    rows.append(["latency p95 ms", *(_ms(s) for _, s in slices)])
    rows.append(["cost USD", *(_usd(s) for _, s in slices)])
    rows.append(["unpriced cases", *(str(s.unpriced) for _, s in slices)])
    return columns, rows


def _label(report: EvalReport) -> str:
    return f"{report.model} {report.prompt}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ms(summary: SliceSummary) -> str:
    return f"{summary.latency_p95_ms:.1f}"


def _usd(summary: SliceSummary) -> str:
    return f"{summary.cost_usd:.6f}"
