"""Gauges and totals read when metrics are collected, so they cost nothing per request."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.metrics import Observation

from ..database.writer import RowWriter
from ..llm.fallback import FallbackChain
from . import semconv
from .metrics import ServiceMetrics

BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def observe_runtime_state(
    metrics: ServiceMetrics, models: Callable[[], FallbackChain], writer: RowWriter
) -> None:
    """The breakers' states and the row writer's backlog, errors and losses."""

    def breakers() -> Iterable[Observation]:
        for model, state in models().breaker_states().items():
            yield Observation(BREAKER_STATE_VALUES[state], {semconv.APP_MODEL: model})

    def backlog() -> Iterable[Observation]:
        yield Observation(writer.pending)

    def write_errors() -> Iterable[Observation]:
        yield Observation(writer.write_errors)

    def dropped() -> Iterable[Observation]:
        yield Observation(writer.dropped)

    metrics.observe(
        semconv.APP_BREAKER_STATE_GAUGE,
        "Circuit state of each network model: 0 closed, 1 half-open, 2 open.",
        "{state}",
        breakers,
    )
    metrics.observe(
        semconv.APP_LEDGER_PENDING, "Ledger rows recorded but not yet written.", "{row}", backlog
    )
    metrics.observe(
        semconv.APP_LEDGER_WRITE_ERRORS,
        "Failed ledger inserts (their rows are kept and retried).",
        "{error}",
        write_errors,
        counter=True,
    )
    metrics.observe(
        semconv.APP_LEDGER_DROPPED_ROWS,
        "Ledger rows lost: dropped past the backlog limit, or unwritten at shutdown.",
        "{row}",
        dropped,
        counter=True,
    )
