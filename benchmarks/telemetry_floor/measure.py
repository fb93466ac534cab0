"""The bare endpoint, with the service's telemetry added, and the full service: one run.

Copied into a generated project's `benchmarks/` package by `telemetry_floor.py` and run there
as `python -m benchmarks.floor_measure`, with the project's own benchmark harness (its load
generator, server start-up and OTLP sink), so the four servers are measured as `make bench`
measures the bare endpoint and the full service, in rounds whose order rotates.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvloop

from .load import run_phase
from .servers import ServerSpec, bare_server, clean_env, full_server, otlp_sink, serving
from .throughput import sink_counts
from .workload import PROJECT_ROOT, Tickets

WARMUP = 1.0
"""Seconds of load before each measurement."""
CONNECTIONS = 16
UVICORN_OPTIONS = (
    "--no-access-log",
    "--log-level",
    "warning",
    "--ws",
    "none",
    "--no-server-header",
)
"""The options `servers.bare_server` gives uvicorn."""


@dataclass
class Measured:
    """One server's rates and CPU per request, a value per round."""

    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    served: int = 0
    """Triage requests answered 200, warm-up included."""
    log_lines: int = 0
    spans: int = 0
    """Spans the OTLP sink received from this server."""


TELEMETRY_ONLY = {
    "spans, metrics, logs": {},
    "spans": {"OTEL_METRICS_EXPORTER": "none", "FLOOR_LOG_LEVEL": "warning"},
}
"""The bare endpoint plus the service's telemetry: all of it, and its spans alone."""


def telemetry_only_server(
    name: str, parts: dict[str, str], env: dict[str, str], sink_port: int, api_key: str
) -> ServerSpec:
    app = ("-m", "uvicorn", "benchmarks.floor_app:app", "--app-dir", str(PROJECT_ROOT))
    telemetry = {
        "FLOOR_API_KEY": api_key,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_TRACES_SAMPLER": "always_on",
        **parts,
    }
    return ServerSpec(f"bare + {name}", (*app, *UVICORN_OPTIONS), {**env, **telemetry})


async def measure(rounds: int, seconds: float) -> dict[str, Measured]:
    env = clean_env()
    api_key = secrets.token_urlsafe(24)
    tickets = Tickets(api_key)
    results: dict[str, Measured] = {}
    warmup = min(WARMUP, seconds)
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        workdir = Path(tmp)
        async with otlp_sink(env) as sink_port:
            specs = [
                bare_server(env),
                *(
                    telemetry_only_server(name, parts, env, sink_port, api_key)
                    for name, parts in TELEMETRY_ONLY.items()
                ),
                full_server(env, workdir, sink_port, api_key),
            ]
            for round_number in range(rounds):
                # Rotate the order so no server is always measured first or last.
                shift = round_number % len(specs)
                for spec in specs[shift:] + specs[:shift]:
                    log_name = f"{spec.name}-{round_number}"
                    spans_before = (await sink_counts(sink_port)).spans
                    async with serving(spec, workdir, log_name) as running:
                        warm = await run_phase(running.port, tickets.next, CONNECTIONS, warmup)
                        cpu_before = running.cpu_seconds()
                        loaded = await run_phase(running.port, tickets.next, CONNECTIONS, seconds)
                        cpu_after = running.cpu_seconds()
                    # The server has exited: its last spans were exported on the way out.
                    for phase in (warm, loaded):
                        if phase.errors:
                            raise SystemExit(f"{spec.name}: {phase.first_error}")
                    measured = results.setdefault(spec.name, Measured())
                    measured.rates.append(loaded.rate)
                    if cpu_before is not None and cpu_after is not None:
                        measured.cpu_us.append((cpu_after - cpu_before) / loaded.ok * 1e6)
                    measured.served += warm.ok + loaded.ok
                    measured.log_lines += (workdir / f"{log_name}.log").read_bytes().count(b"\n")
                    measured.spans += (await sink_counts(sink_port)).spans - spans_before
    return results


def render(results: dict[str, Measured], rounds: int, seconds: float) -> str:
    bare = statistics.median(results["bare"].rates)
    rows = [
        "| server | requests/s | x bare | CPU µs per request | spans per request | log lines "
        "per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, measured in results.items():
        rate = statistics.median(measured.rates)
        cpu = f"{statistics.median(measured.cpu_us):.0f}" if measured.cpu_us else "n/a"
        spans = measured.spans / measured.served
        lines = measured.log_lines / measured.served
        rows.append(
            f"| {name} | {rate:.0f} | {rate / bare:.3f} | {cpu} | {spans:.2f} | {lines:.2f} |"
        )
    bare_rates = results["bare"].rates
    per_round = ", ".join(
        f"{name} " + " ".join(f"{r / b:.3f}" for r, b in zip(m.rates, bare_rates, strict=True))
        for name, m in results.items()
        if name != "bare"
    )
    return "\n".join(
        [
            *rows,
            "",
            f"Medians of {rounds} rounds, {CONNECTIONS} connections for {seconds:g} s each; "
            f"per-round ratios to bare: {per_round}.",
            "",
            f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; 1-minute load average after the run "
            f"{os.getloadavg()[0]:.2f}.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor_measure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    results = uvloop.run(measure(args.rounds, args.seconds))
    print(render(results, args.rounds, args.seconds))


if __name__ == "__main__":
    main()
