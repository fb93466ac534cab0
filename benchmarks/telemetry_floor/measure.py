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

from .report import Options, Sample
from .servers import (
    UVICORN_OPTIONS,
    ServerSpec,
    bare_server,
    clean_env,
    full_server,
    otlp_sink,
    serving,
)
from .service import CLASSICAL_MODEL
from .throughput import log_lines, measure, sink_counts
from .workload import PROJECT_ROOT, Baseline, Tickets

CLASSICAL = Baseline("bare FastAPI + classical model", "benchmarks.bare_app:app", CLASSICAL_MODEL)
"""The floor is measured on the classical model, whatever providers the project wires."""


@dataclass
class Measured:
    """One server's samples, a round each, and what it produced over all of them."""

    samples: list[Sample] = field(default_factory=list)
    log_lines: int = 0
    spans: int = 0
    """Spans the OTLP sink received from this server."""

    @property
    def served(self) -> int:
        return sum(sample.served for sample in self.samples)


HEALTH_POLL_SPANS = 1
"""The start-up poll's one `/healthz` answered 200, traced like any request by every server but
bare: not a measured request, so not counted (with few requests served, it showed as 2.01)."""

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


async def measure_all(options: Options) -> dict[str, Measured]:
    env = clean_env()
    api_key = secrets.token_urlsafe(24)
    tickets = Tickets(api_key)
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        workdir = Path(tmp)
        async with otlp_sink(env) as sink_port:
            bare = bare_server(env, CLASSICAL)  # its environment names the bare apps' prompts
            specs = [
                bare,
                *(
                    telemetry_only_server(name, parts, dict(bare.env), sink_port, api_key)
                    for name, parts in TELEMETRY_ONLY.items()
                ),
                full_server(env, workdir, sink_port, api_key, CLASSICAL),
            ]
            results = {spec.name: Measured() for spec in specs}  # the table's row order
            for round_number in range(1, options.rounds + 1):
                # Rotate the order so no server is always measured first or last.
                shift = round_number % len(specs)
                for spec in specs[shift:] + specs[:shift]:
                    log_name = f"{spec.name}-{round_number}"
                    spans_before = (await sink_counts(sink_port)).spans
                    async with serving(spec, workdir, log_name) as running:
                        sample = await measure(spec.name, running, round_number, tickets, options)
                    # The server has exited: its last spans were exported on the way out.
                    if sample.errors:
                        raise SystemExit(f"{spec.name}: {sample.first_error}")
                    measured = results[spec.name]
                    measured.samples.append(sample)
                    spans = (await sink_counts(sink_port)).spans - spans_before
                    measured.spans += spans - (0 if spec is bare else HEALTH_POLL_SPANS)
            for spec in specs:  # `make bench`'s count: lines about the measured requests
                results[spec.name].log_lines = log_lines(workdir, spec)
    return results


def render(results: dict[str, Measured], options: Options) -> str:
    bare_rates = [sample.rate for sample in results["bare"].samples]
    bare = statistics.median(bare_rates)
    rows = [
        "| server | requests/s | x bare | CPU µs per request | spans per request | log lines "
        "per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, measured in results.items():
        rate = statistics.median(sample.rate for sample in measured.samples)
        costs = [s.server_cpu_us for s in measured.samples if s.server_cpu_us is not None]
        cpu = f"{statistics.median(costs):.0f}" if costs else "n/a"
        spans = measured.spans / measured.served
        lines = measured.log_lines / measured.served
        rows.append(
            f"| {name} | {rate:.0f} | {rate / bare:.3f} | {cpu} | {spans:.2f} | {lines:.2f} |"
        )
    per_round = ", ".join(
        f"{name} "
        + " ".join(f"{s.rate / b:.3f}" for s, b in zip(m.samples, bare_rates, strict=True))
        for name, m in results.items()
        if name != "bare"
    )
    return "\n".join(
        [
            *rows,
            "",
            f"Medians of {options.rounds} rounds, {options.connections} connections for "
            f"{options.seconds:g} s each; per-round ratios to bare: {per_round}.",
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
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    options = Options(seconds=args.seconds, rounds=args.rounds, connections=args.connections)
    print(render(uvloop.run(measure_all(options)), options))


if __name__ == "__main__":
    main()
