"""The benchmark's results, the checks that make them meaningful, and their Markdown report."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from .load import Phase
from .workload import BODY, Baseline

TARGET_RATIO = 0.75
TARGET_ADDED_CPU_US = 700.0
TARGET_ADDED_P99_MS = 2.0
"""These three hold against the SDK baseline; against the classical model there is none."""
TARGET_START_SECONDS = 1.0
TARGET_IDLE_RSS_MB = 100.0
CEILING_MARGIN = 1.5
"""The client's ceiling must exceed the bare rate by this factor for the rates to be the
servers' own; below it, the report says the client may be the limit."""
BARE, FULL = "bare", "full"


@dataclass(frozen=True)
class Options:
    """The run's options, as given on the command line."""

    seconds: float
    rounds: int
    connections: int

    def command(self) -> str:
        return (
            f"python -m benchmarks.throughput --seconds {self.seconds:g} "
            f"--rounds {self.rounds} --connections {self.connections}"
        )


@dataclass(frozen=True)
class Sample:
    """One server's measurements in one round."""

    server: str
    round_number: int
    rate: float
    """Requests per second under load."""
    p50_ms: float
    """Median latency of requests sent one at a time."""
    p99_ms: float
    """99th percentile latency of requests sent one at a time."""
    served: int
    """200 answers to triage requests, warm-up and cache phase included."""
    cache_served: int
    """Of those, the answers to the repeated ticket under load (after its first)."""
    errors: int
    first_error: str | None
    client_cpu_share: float
    """The load generator's CPU time over wall time, under load."""
    server_cpu_us: float | None
    """The server process's CPU time per request under load; None off Linux."""
    cache_rate: float | None
    """Requests per second under load for the repeated ticket; None for the bare app."""
    cache_cpu_us: float | None
    start_seconds: float
    """From starting the process to its first 200."""
    idle_rss_mb: float | None
    """Resident memory once started, before any request; None off Linux."""


@dataclass(frozen=True)
class Telemetry:
    """What the OTLP sink received from the full service over the whole run."""

    span_batches: int
    spans: int
    metric_batches: int

    @classmethod
    def from_json(cls, body: bytes) -> Telemetry:
        counts = json.loads(body)
        return cls(
            span_batches=counts["traces"]["batches"],
            spans=counts["spans"],
            metric_batches=counts["metrics"]["batches"],
        )


@dataclass(frozen=True)
class Report:
    options: Options
    baseline: Baseline
    samples: Sequence[Sample]
    ceiling: Phase
    telemetry: Telemetry
    ledger: Mapping[str, int]
    """Ledger rows by outcome."""
    log_lines: int
    load_average: float | None
    """The machine's 1-minute load average before the run: what else was competing for it."""

    def of(self, server: str) -> list[Sample]:
        return [sample for sample in self.samples if sample.server == server]

    def rate(self, server: str) -> float:
        return statistics.median(sample.rate for sample in self.of(server))

    def p50_ms(self, server: str) -> float:
        return statistics.median(sample.p50_ms for sample in self.of(server))

    def p99_ms(self, server: str) -> float:
        return statistics.median(sample.p99_ms for sample in self.of(server))

    def start_seconds(self, server: str) -> float:
        return statistics.median(sample.start_seconds for sample in self.of(server))

    def server_cpu_us(self, server: str) -> float | None:
        return _median_known([sample.server_cpu_us for sample in self.of(server)])

    def idle_rss_mb(self, server: str) -> float | None:
        return _median_known([sample.idle_rss_mb for sample in self.of(server)])

    @property
    def cache_rate(self) -> float:
        return _median_known([sample.cache_rate for sample in self.of(FULL)]) or 0.0

    @property
    def cache_cpu_us(self) -> float | None:
        return _median_known([sample.cache_cpu_us for sample in self.of(FULL)])

    @property
    def ratio(self) -> float:
        return _quotient(self.rate(FULL), self.rate(BARE))

    @property
    def added_p50_ms(self) -> float:
        return self.p50_ms(FULL) - self.p50_ms(BARE)

    @property
    def added_p99_ms(self) -> float:
        return self.p99_ms(FULL) - self.p99_ms(BARE)

    @property
    def added_cpu_us(self) -> float | None:
        bare, full = self.server_cpu_us(BARE), self.server_cpu_us(FULL)
        return None if bare is None or full is None else full - bare

    @property
    def against_sdk(self) -> bool:
        """Whether the baseline calls a provider's SDK: the per-request targets apply."""
        return self.baseline.upstream_environment is not None

    @property
    def errors(self) -> int:
        return sum(sample.errors for sample in self.samples) + self.ceiling.errors

    @property
    def full_served(self) -> int:
        return sum(sample.served for sample in self.of(FULL))

    @property
    def cache_served(self) -> int:
        return sum(sample.cache_served for sample in self.of(FULL))

    @property
    def ledger_rows(self) -> int:
        return sum(self.ledger.values())

    def problems(self) -> list[str]:
        """Why the numbers cannot be trusted; empty when the run is valid."""
        problems = []
        if self.errors:
            reasons = [self.ceiling.first_error, *(s.first_error for s in self.samples)]
            first = next(reason for reason in reasons if reason)
            problems.append(f"{self.errors} requests failed; the first: {first}")
        if self.telemetry.span_batches == 0:
            problems.append("the OTLP sink received no spans: telemetry was not exported")
        if self.ledger_rows != self.full_served:
            problems.append(
                f"the ledger has {self.ledger_rows} rows for {self.full_served} requests served"
            )
        hits = self.ledger.get("cache_hit", 0)
        if hits != self.cache_served:
            problems.append(
                f"{hits} answers came from the response cache, not the {self.cache_served} "
                "answers to the repeated ticket"
            )
        return problems


def render(report: Report) -> str:
    """The Markdown report: results, rounds, the checks behind them, machine and command."""
    return "\n".join(
        [
            f"## Full stack vs {report.baseline.label}",
            "",
            _summary(report),
            "",
            *_results(report),
            "",
            "### Rounds",
            "",
            *_rounds(report),
            "",
            "### Checks",
            "",
            *_checks(report),
            "",
            f"Machine: {_machine(report.load_average)}.",
            "",
            f"Command: `{report.options.command()}` ({dt.datetime.now(dt.UTC):%Y-%m-%d}).",
            "",
        ]
    )


def _summary(report: Report) -> str:
    options, model = report.options, report.baseline.model
    upstream = (
        "both servers calling it at the shipped fake upstream, in its own process"
        if report.against_sdk
        else "both servers running it in-process"
    )
    return (
        f"Medians of {options.rounds} round(s) per server, interleaved. Throughput: "
        f"{options.connections} connections for {options.seconds:g} s. p50 and p99: one "
        f"connection, requests back to back, for {options.seconds:g} s. Every request is a new "
        f"ticket (a {len(BODY)}-character body) for the same prompt and model, `{model}`, "
        f"{upstream}; the cache row asks one ticket over and over."
    )


def _results(report: Report) -> list[str]:
    spans = report.telemetry.span_batches
    sdk = report.against_sdk
    added_cpu = report.added_cpu_us
    start, rss = report.start_seconds(FULL), report.idle_rss_mb(FULL)
    rows = [
        ("bare endpoint, requests/s", f"{report.rate(BARE):.0f}", "", ""),
        ("full stack, requests/s", f"{report.rate(FULL):.0f}", "", ""),
        _target_row(
            "throughput ratio, full / bare",
            f"{report.ratio:.3f}",
            f"≥ {TARGET_RATIO}",
            ok=report.ratio >= TARGET_RATIO,
            applies=sdk,
        ),
        ("full stack from its cache, requests/s", _cache_rate(report), "", ""),
        ("bare endpoint, p50 / p99 ms", _pair(report.p50_ms(BARE), report.p99_ms(BARE), 3), "", ""),
        ("full stack, p50 / p99 ms", _pair(report.p50_ms(FULL), report.p99_ms(FULL), 3), "", ""),
        ("added p50 ms", f"{report.added_p50_ms:.3f}", "", ""),
        _target_row(
            "added p99 ms",
            f"{report.added_p99_ms:.3f}",
            f"≤ {TARGET_ADDED_P99_MS:g}",
            ok=report.added_p99_ms <= TARGET_ADDED_P99_MS,
            applies=sdk,
        ),
        ("server CPU per request, µs, bare / full", _cpu_pair(report), "", ""),
        _target_row(
            "added CPU per request, µs",
            _optional(added_cpu),
            f"≤ {TARGET_ADDED_CPU_US:.0f}",
            ok=added_cpu is not None and added_cpu <= TARGET_ADDED_CPU_US,
            applies=sdk,
        ),
        ("CPU per answer from the cache, µs", _optional(report.cache_cpu_us), "", ""),
        (
            "start to first 200, s, bare / full",
            _pair(report.start_seconds(BARE), start, 2),
            f"full ≤ {TARGET_START_SECONDS:g}",
            _met(start <= TARGET_START_SECONDS),
        ),
        (
            "idle memory, MB, bare / full",
            f"{_optional(report.idle_rss_mb(BARE))} / {_optional(rss)}",
            f"full ≤ {TARGET_IDLE_RSS_MB:.0f}",
            _met(rss is not None and rss <= TARGET_IDLE_RSS_MB),
        ),
        ("errors", str(report.errors), "0", _met(report.errors == 0)),
        ("span batches received", str(spans), "> 0", _met(spans > 0)),
        (
            "ledger rows, full stack",
            str(report.ledger_rows),
            f"= {report.full_served} served",
            _met(report.ledger_rows == report.full_served),
        ),
        (
            "ledger rows for cache hits",
            str(report.ledger.get("cache_hit", 0)),
            f"= {report.cache_served} repeated",
            _met(report.ledger.get("cache_hit", 0) == report.cache_served),
        ),
    ]
    return _table(("measurement", "value", "target", "met"), rows, "-:--")


def _target_row(
    measurement: str, value: str, target: str, *, ok: bool, applies: bool
) -> tuple[str, str, str, str]:
    """A row whose target holds against the SDK baseline only."""
    if not applies:
        return (measurement, value, "(SDK baseline only)", "")
    return (measurement, value, target, _met(ok))


def _cache_rate(report: Report) -> str:
    times_bare = _quotient(report.cache_rate, report.rate(BARE))
    return f"{report.cache_rate:.0f} ({times_bare:.2f}x bare)"


def _pair(first: float, second: float, decimals: int) -> str:
    return f"{first:.{decimals}f} / {second:.{decimals}f}"


def _cpu_pair(report: Report) -> str:
    bare, full = report.server_cpu_us(BARE), report.server_cpu_us(FULL)
    if bare is None or full is None:
        return "n/a"
    return f"{bare:.0f} / {full:.0f} (bare / full {_quotient(bare, full):.3f})"


def _rounds(report: Report) -> list[str]:
    """One row per round: the two servers measured next to each other in time."""
    rows = []
    for bare, full in zip(report.of(BARE), report.of(FULL), strict=True):
        rows.append(
            (
                str(bare.round_number),
                f"{bare.rate:.0f}",
                f"{full.rate:.0f}",
                f"{_quotient(full.rate, bare.rate):.3f}",
                _optional(full.cache_rate),
                _pair(bare.p50_ms, bare.p99_ms, 2),
                _pair(full.p50_ms, full.p99_ms, 2),
                _optional(bare.server_cpu_us),
                _optional(full.server_cpu_us),
                _pair(bare.start_seconds, full.start_seconds, 2),
            )
        )
    header = (
        "round",
        "bare req/s",
        "full req/s",
        "ratio",
        "cached req/s",
        "bare p50 / p99 ms",
        "full p50 / p99 ms",
        "bare CPU µs/req",
        "full CPU µs/req",
        "start s, bare / full",
    )
    return _table(header, rows, "::::::::::")


def _checks(report: Report) -> list[str]:
    """Why the numbers can be trusted: the client, telemetry, logs and ledger, as measured."""
    served = report.full_served
    telemetry = report.telemetry
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(report.ledger.items()))
    spans_per_request = _quotient(telemetry.spans, served)
    return [
        _client_check(report),
        "- Server CPU per request is read from /proc during the throughput phase (all of the "
        "server's threads). Other processes competing for the CPUs (the client, the upstream) "
        "lower the rates, not always in proportion; CPU per request changes much less.",
        f"- Telemetry (sampler `always_on`): {telemetry.span_batches} span batches, "
        f"{telemetry.spans} spans ({spans_per_request:.2f} per full-stack request), "
        f"and {telemetry.metric_batches} metric batch(es) reached the OTLP sink.",
        f"- Logs: the full service wrote {report.log_lines} JSON lines "
        f"({_quotient(report.log_lines, served):.2f} per request) to a file.",
        f"- Ledger: {report.ledger_rows} rows (by outcome: {outcomes or 'none'}) for "
        f"{served} full-stack requests served, warm-up included, read after the service "
        f"stopped. New tickets never repeat, so only the {report.cache_served} answers to the "
        "repeated ticket come from the response cache.",
    ]


def _client_check(report: Report) -> str:
    ceiling = report.ceiling.rate
    headroom = _quotient(ceiling, report.rate(BARE))
    busiest = max(sample.client_cpu_share for sample in report.samples)
    verdict = (
        "the rates measured are the servers'"
        if headroom >= CEILING_MARGIN
        else "WARNING: the client may be limiting the bare rate"
    )
    return (
        f"- Load generator: {ceiling:.0f} requests/s against the bare app's trivial "
        f"`GET /healthz` ({headroom:.1f}x the bare triage rate), using at most {busiest:.0%} "
        f"of one CPU while measuring throughput: {verdict}."
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A Markdown table; `align` has one character per column: `-` left, `:` right."""
    rule = ["---" if a == "-" else "---:" for a in align]
    return [f"| {' | '.join(cells)} |" for cells in (header, rule, *rows)]


def _quotient(numerator: float, denominator: float) -> float:
    """`numerator / denominator`, or 0 when a server answered nothing (the run has failed)."""
    return numerator / denominator if denominator else 0.0


def _median_known(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def _optional(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _machine(load_average: float | None) -> str:
    load = "unknown" if load_average is None else f"{load_average:.2f}"
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()} "
        f"({platform.python_implementation()}), uvicorn {_version('uvicorn')}, "
        f"uvloop {_version('uvloop')}; 1-minute load average before the run {load}"
    )


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
