"""The shadow report: how each candidate compared with the live answers it shadowed.

One line per feature and pair (live prompt and model, shadow prompt and model) over a range of
UTC days: runs, errors and timeouts, how often the candidate agreed with the live answer on
each aspect its feature compares (triage: category, priority), the latency percentiles of both,
and what each cost. Agreement, latency and cost are over the runs the candidate answered, so
both sides are measured on the same requests. (Every shadow call, failed ones included, is also
in the ledger as a shadow row: the `usage` report shows what shadow traffic cost in all.)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..costs.pricing import from_nano_usd
from ..database.tables import shadow_comparisons
from ..text_tables import aligned, csv_text

Pair = tuple[str, str, str, str, str]
"""Feature, live prompt, live model, shadow prompt, shadow model."""


@dataclass(frozen=True, slots=True)
class ShadowLine:
    """One candidate beside the live answers it shadowed, over the report's range."""

    feature: str
    live_prompt: str
    live_model: str
    shadow_prompt: str
    shadow_model: str
    runs: int
    errors: int
    timeouts: int
    agreement: dict[str, float]
    """Per aspect compared, the share (0 to 1) of answered runs that agreed; empty: none
    answered."""
    live_p50_ms: float | None
    live_p95_ms: float | None
    shadow_p50_ms: float | None
    shadow_p95_ms: float | None
    live_cost_usd: Decimal
    shadow_cost_usd: Decimal


@dataclass
class _Tally:
    runs: int = 0
    errors: int = 0
    timeouts: int = 0
    agreed: dict[str, int] = field(default_factory=dict)
    live_ms: list[float] = field(default_factory=list)
    shadow_ms: list[float] = field(default_factory=list)
    live_cost: int = 0
    shadow_cost: int = 0


async def shadow_report(engine: AsyncEngine, *, since: dt.date, until: dt.date) -> list[ShadowLine]:
    """Every pair's line for the comparisons made from `since` to `until` (inclusive, UTC)."""
    c = shadow_comparisons.c
    start = dt.datetime.combine(since, dt.time(), dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
    query = select(
        c.feature,
        c.live_prompt,
        c.live_model,
        c.shadow_prompt,
        c.shadow_model,
        c.outcome,
        c.agreement,
        c.live_latency_ms,
        c.shadow_latency_ms,
        c.live_cost_nano_usd,
        c.shadow_cost_nano_usd,
    ).where(c.created_at >= start, c.created_at < end)
    tallies: dict[Pair, _Tally] = {}
    async with engine.connect() as connection:
        for row in await connection.execute(query):
            pair = (
                row.feature,
                row.live_prompt,
                row.live_model,
                row.shadow_prompt,
                row.shadow_model,
            )
            tally = tallies.setdefault(pair, _Tally())
            tally.runs += 1
            if row.outcome == "error":
                tally.errors += 1
            elif row.outcome == "timeout":
                tally.timeouts += 1
            else:
                for aspect, same in (row.agreement or {}).items():
                    tally.agreed[aspect] = tally.agreed.get(aspect, 0) + bool(same)
                tally.live_ms.append(row.live_latency_ms)
                tally.shadow_ms.append(row.shadow_latency_ms)
                tally.live_cost += row.live_cost_nano_usd or 0
                tally.shadow_cost += row.shadow_cost_nano_usd or 0
    return [_line(pair, tallies[pair]) for pair in sorted(tallies)]


def _line(pair: Pair, tally: _Tally) -> ShadowLine:
    answered = len(tally.live_ms)
    return ShadowLine(
        *pair,
        runs=tally.runs,
        errors=tally.errors,
        timeouts=tally.timeouts,
        agreement={aspect: agreed / answered for aspect, agreed in tally.agreed.items()},
        live_p50_ms=_percentile(tally.live_ms, 0.50),
        live_p95_ms=_percentile(tally.live_ms, 0.95),
        shadow_p50_ms=_percentile(tally.shadow_ms, 0.50),
        shadow_p95_ms=_percentile(tally.shadow_ms, 0.95),
        live_cost_usd=from_nano_usd(tally.live_cost),
        shadow_cost_usd=from_nano_usd(tally.shadow_cost),
    )


def _percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: a latency some run actually had, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


PAIR_COLUMNS = (
    "feature",
    "live_prompt",
    "live_model",
    "shadow_prompt",
    "shadow_model",
    "runs",
    "errors",
    "timeouts",
)
MEASURE_COLUMNS = (
    "live_p50_ms",
    "live_p95_ms",
    "shadow_p50_ms",
    "shadow_p95_ms",
    "live_cost_usd",
    "shadow_cost_usd",
)
NOT_APPLICABLE = "-"
"""In a cell with nothing to measure: no run of the pair was answered, or its feature does not
compare that aspect."""


def aspects(lines: Sequence[ShadowLine]) -> list[str]:
    """Every aspect the lines compare, in the order first seen."""
    return list(dict.fromkeys(aspect for line in lines for aspect in line.agreement))


def columns(aspects: Sequence[str]) -> tuple[str, ...]:
    """The report's columns: an `<aspect>_agree_pct` column for each aspect compared, between
    the pair's counts and its measures."""
    agreement = tuple(f"{aspect}_agree_pct" for aspect in aspects)
    return PAIR_COLUMNS + agreement + MEASURE_COLUMNS


def _cells(line: ShadowLine, aspects: Sequence[str]) -> list[str]:
    agreement = line.agreement
    return [
        line.feature,
        line.live_prompt,
        line.live_model,
        line.shadow_prompt,
        line.shadow_model,
        str(line.runs),
        str(line.errors),
        str(line.timeouts),
        *(_number(agreement.get(aspect), 100) for aspect in aspects),
        _number(line.live_p50_ms),
        _number(line.live_p95_ms),
        _number(line.shadow_p50_ms),
        _number(line.shadow_p95_ms),
        f"{line.live_cost_usd:.9f}",
        f"{line.shadow_cost_usd:.9f}",
    ]


def _number(value: float | None, scale: int = 1) -> str:
    return NOT_APPLICABLE if value is None else f"{value * scale:.1f}"


def _rows(lines: Sequence[ShadowLine]) -> tuple[tuple[str, ...], list[list[str]]]:
    compared = aspects(lines)
    return columns(compared), [_cells(line, compared) for line in lines]


def csv_report(lines: Sequence[ShadowLine]) -> str:
    """One header row, then one row per pair; costs exact, to the nano-dollar."""
    return csv_text(*_rows(lines))


def table_report(lines: Sequence[ShadowLine]) -> str:
    """Aligned columns, numbers to the right; `-` where no run of the pair was answered."""
    if not lines:
        return "No shadow runs in this period.\n"
    header, rows = _rows(lines)
    numeric = frozenset(header[PAIR_COLUMNS.index("runs") :])
    return "\n".join(aligned(header, rows, numeric)) + "\n"
