"""Throughput, latency, start-up and memory of the full service next to a bare FastAPI
endpoint calling the same model, in one run.

Run from the project root (`make bench` runs the defaults):

    python -m benchmarks.throughput [--seconds 5] [--rounds 3] [--connections 16]

The baseline (`baseline.py`) is what a team would write without the service: a bare endpoint
calling the first wired provider through its SDK, both servers sent to the shipped fake
upstream (`upstream.py`); with no provider wired, the same classical model. The targets
(docs/performance.md) apply to the SDK baseline: the full stack (authentication, validation,
telemetry sampling every request and exporting it, JSON logs, cost ledger, budgets, rate
limits, guardrails) keeps at least 0.75x its throughput, adds at most 700 µs of CPU per
request, keeps its unloaded p99 within 2 ms of the bare one's, is ready within 1.0 s of
starting and holds at most 100 MB when idle.

Each round starts the bare app, then the full service (the order alternates between rounds),
each in a fresh process so neither one's background work runs while the other is measured.
Each server's start (process start to its first 200) and idle memory are read first. Then a
warm-up, `--connections` connections for `--seconds` (throughput), and one connection sending
requests back to back for `--seconds` (unloaded latency). The full service then answers one
ticket over and over for `--seconds` under load: its response cache's rate. The first bare
server also measures the client's own ceiling on a trivial endpoint. The report gives the
median over rounds as a Markdown table, with the machine and the command.

The exit status is 1 when a request failed or the full stack's bookkeeping is incomplete (no
spans exported, ledger rows missing, a new ticket served from cache or a repeated one not):
those make the numbers meaningless. A missed target is reported in the table, not as a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from .load import Phase, fetch, run_phase
from .report import Options, Report, Sample, Telemetry, render
from .baseline import BASELINE
from .servers import (
    Running,
    ServerSpec,
    bare_server,
    clean_env,
    full_server,
    ledger_path,
    otlp_sink,
    serving,
    upstream,
)
from .service import model_calls
from .workload import Requests, Tickets, get_request

WARMUP_SECONDS = 1.0
T = TypeVar("T")


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server, interleaved")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--seconds must be > 0, --rounds and --connections >= 1")
    return Options(seconds=args.seconds, rounds=args.rounds, connections=args.connections)


async def measure(
    server: str,
    running: Running,
    round_number: int,
    requests: Requests,
    options: Options,
    *,
    has_cache: bool = False,
) -> Sample:
    """Read the started server's memory, warm it up, then measure its throughput under load,
    its unloaded latency and, when it has a response cache, the cache under load."""
    port = running.port
    idle_rss_mb = running.rss_mb()
    warmup = min(WARMUP_SECONDS, options.seconds)
    warm = await run_phase(port, requests.next, options.connections, warmup)
    loaded, cpu_us = await _under_load(running, requests.next, options)
    unloaded = await run_phase(port, requests.next, 1, options.seconds)
    cached = cache_cpu_us = None
    if has_cache:
        await _prime_cache(port, requests.repeated(), warm)
        cached, cache_cpu_us = await _under_load(running, requests.repeated, options)
    phases = [phase for phase in (warm, loaded, unloaded, cached) if phase is not None]
    return Sample(
        server=server,
        round_number=round_number,
        rate=loaded.rate,
        p50_ms=unloaded.p50_ms,
        p99_ms=unloaded.p99_ms,
        served=sum(phase.ok for phase in phases),
        cache_served=cached.ok if cached else 0,
        errors=sum(phase.errors for phase in phases),
        first_error=next((p.first_error for p in phases if p.first_error), None),
        client_cpu_share=loaded.client_cpu_share,
        server_cpu_us=cpu_us,
        cache_rate=cached.rate if cached else None,
        cache_cpu_us=cache_cpu_us,
        start_seconds=running.start_seconds,
        idle_rss_mb=idle_rss_mb,
    )


async def _under_load(
    running: Running, next_request: Callable[[], bytes], options: Options
) -> tuple[Phase, float | None]:
    """A throughput phase, and the server's CPU time per answer during it."""
    before = running.cpu_seconds()
    phase = await run_phase(running.port, next_request, options.connections, options.seconds)
    after = running.cpu_seconds()
    if before is None or after is None or not phase.ok:
        return phase, None
    return phase, (after - before) / phase.ok * 1e6


async def _prime_cache(port: int, request: bytes, warm: Phase) -> None:
    """Send `request` once, counted with the warm-up: its answer fills the response cache."""
    reply = await fetch(port, request)
    if reply.status == 200:
        warm.ok += 1
    else:
        warm.fail(f"HTTP {reply.status}: {reply.body[:300]!r}")


async def client_ceiling(port: int, options: Options) -> Phase:
    """The load generator's rate against the bare app's trivial `/healthz`.

    Far above the triage rates, it shows the measured rates are the servers', not the client's.
    """
    health = get_request("/healthz")
    return await run_phase(port, lambda: health, options.connections, options.seconds)


async def interleaved_rounds(
    bare: ServerSpec, full: ServerSpec, workdir: Path, tickets: Tickets, options: Options
) -> tuple[list[Sample], Phase]:
    """Every round's samples, and the client's ceiling, measured on the first bare server.

    Each server runs only for its own measurement and the order alternates between rounds, so
    neither's background work (span export, ledger writes) overlaps the other's, and a drift of
    the machine over the run does not always favour the same server.
    """
    samples: list[Sample] = []
    ceilings: list[Phase] = []
    for round_number in range(1, options.rounds + 1):
        for spec in (bare, full) if round_number % 2 else (full, bare):
            async with serving(spec, workdir, f"{spec.name}-{round_number}") as running:
                if spec is bare and not ceilings:
                    ceilings.append(await client_ceiling(running.port, options))
                sample = await measure(
                    spec.name, running, round_number, tickets, options, has_cache=spec is full
                )
                samples.append(sample)
    return samples, ceilings[0]


async def sink_counts(port: int) -> Telemetry:
    reply = await fetch(port, get_request("/stats"))
    return Telemetry.from_json(reply.body)


def ledger_outcomes(workdir: Path) -> dict[str, int]:
    """Rows the full service wrote to its SQLite ledger for live requests, by outcome (read
    after it stopped). Shadow runs the project's flags turn on write rows of their own."""
    with closing(sqlite3.connect(ledger_path(workdir))) as connection:
        # The schema's own names, not input: safe to format in.
        table, shadow = model_calls.name, model_calls.c.shadow.name
        query = f"SELECT outcome, COUNT(*) FROM {table} WHERE NOT {shadow} GROUP BY outcome"  # noqa: S608
        return dict(connection.execute(query).fetchall())


def log_lines(workdir: Path, spec: ServerSpec) -> int:
    """Lines `spec` wrote to its stdout about the measured requests, in every round: not its
    start-up and shutdown lines (no request id), nor those of the `/healthz` polls."""
    return sum(
        b'"request_id":' in line and b'"route":"/healthz"' not in line
        for path in workdir.glob(f"{spec.name}-*.log")
        for line in path.read_bytes().splitlines()
    )


def load_average() -> float | None:
    """The 1-minute load average, where the platform has one."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


async def benchmark(options: Options) -> Report:
    load = load_average()
    env = clean_env()
    api_key = secrets.token_urlsafe(24)
    tickets = Tickets(api_key)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        async with otlp_sink(env) as sink_port, upstream(env, BASELINE) as to_upstream:
            bare = bare_server({**env, **to_upstream}, BASELINE)
            full = full_server({**env, **to_upstream}, workdir, sink_port, api_key, BASELINE)
            samples, ceiling = await interleaved_rounds(bare, full, workdir, tickets, options)
            telemetry = await sink_counts(sink_port)
        return Report(
            options=options,
            baseline=BASELINE,
            samples=samples,
            ceiling=ceiling,
            telemetry=telemetry,
            ledger=ledger_outcomes(workdir),
            log_lines=log_lines(workdir, full),
            load_average=load,
        )


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]), as the servers do."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main(argv: Sequence[str] | None = None) -> int:
    report = run(benchmark(parse_args(argv)))
    sys.stdout.write(render(report))
    problems = report.problems()
    for problem in problems:
        sys.stderr.write(f"error: {problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
