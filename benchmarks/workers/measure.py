"""One worker and two, of the bare SDK endpoint and of the full service: one run.

Copied into a generated project's `benchmarks/` package by `workers.py` and run there as
`python -m benchmarks.workers_measure`, with the project's own harness (its fake upstream, OTLP
sink, load generator and server start-up), so each server runs as `make bench` runs it, with
`--workers N` added: uvicorn's for the bare endpoint, the service's `WORKERS=N` for the full
one. The full service shares one Redis at every worker count (several workers need it), so the
worker counts differ in nothing else. A server counts as started once all its workers have
said so; its CPU time is that of its whole process tree.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import secrets
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
from tests.servers import redis_server

from .baseline import BASELINE
from .load import run_phase
from .servers import (
    ServerSpec,
    bare_server,
    clean_env,
    full_server,
    otlp_sink,
    serving,
    upstream,
)
from .service import ENV_PREFIX
from .throughput import WARMUP_SECONDS, ledger_outcomes
from .workload import Tickets

WORKER_COUNTS = (1, 2)
STARTED = b"Application startup complete"
"""What each worker logs once it serves: uvicorn's own line, in both servers' logs."""
SETTLE_TIMEOUT_SECONDS = 60.0


@dataclass
class Measured:
    """One server at one worker count: a rate, CPU per request and machine load per round."""

    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    """The machine's CPUs busy over the phase, as a share of all of them."""
    client: list[float] = field(default_factory=list)
    """The load generator's own CPU share of one core."""
    served: int = 0


def specs(
    env: dict[str, str], workdir: Path, sink: int, key: str, redis: str
) -> list[tuple[str, int, ServerSpec]]:
    """Each server at every worker count, then the full service at one worker with its stores
    in memory (its default, as `make bench` runs it): each with its name in the table."""
    bare, full = bare_server(env, BASELINE), full_server(env, workdir, sink, key, BASELINE)
    servers = []
    for workers in WORKER_COUNTS:
        spec = dataclasses.replace(bare, arguments=(*bare.arguments, "--workers", str(workers)))
        servers.append((f"bare, {workers}", workers, spec))
    for workers in WORKER_COUNTS:
        shared = {f"{ENV_PREFIX}WORKERS": str(workers), f"{ENV_PREFIX}REDIS_URL": redis}
        spec = dataclasses.replace(full, env={**full.env, **shared})
        servers.append((f"full, stores in Redis, {workers}", workers, spec))
    servers.append(("full, stores in memory, 1", 1, full))
    return servers


async def all_workers_started(workdir: Path, log_name: str, workers: int) -> None:
    """Wait until each worker has logged that it serves (to stdout or stderr)."""
    logs = [workdir / f"{log_name}.log", workdir / f"{log_name}.err"]
    deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT_SECONDS
    while sum(log.read_bytes().count(STARTED) for log in logs) < workers:
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"{log_name}: not all of its {workers} workers started")
        await asyncio.sleep(0.05)


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` and every process under it, from /proc."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text(encoding="ascii")
            children = Path(f"/proc/{current}/task/{current}/children").read_text(encoding="ascii")
        except OSError:
            continue  # it ended meanwhile
        fields = stat.rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending.extend(int(child) for child in children.split())
    return total


def machine_ticks() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine so far, from /proc/stat."""
    first = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    ticks = [int(value) for value in first]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


async def measure_all(rounds: int, seconds: float, connections: int) -> dict[str, Measured]:
    env = clean_env()
    api_key = secrets.token_urlsafe(24)
    tickets = Tickets(api_key)
    with redis_server() as redis_url, tempfile.TemporaryDirectory(prefix="workers-") as tmp:
        workdir = Path(tmp)
        async with otlp_sink(env) as sink_port, upstream(env, BASELINE) as to_upstream:
            servers = specs({**env, **to_upstream}, workdir, sink_port, api_key, redis_url)
            results = {name: Measured() for name, _, _ in servers}
            for round_number in range(1, rounds + 1):
                shift = round_number % len(servers)  # no server always first or last
                for index, (name, workers, spec) in enumerate(servers[shift:] + servers[:shift]):
                    log_name = f"{index}-{round_number}"
                    async with serving(spec, workdir, log_name) as running:
                        await all_workers_started(workdir, log_name, workers)
                        await measure(
                            results[name], running.port, running.pid, tickets, seconds, connections
                        )
        served = sum(m.served for name, m in results.items() if name.startswith("full"))
        rows = sum(ledger_outcomes(workdir).values())  # live requests, not shadow runs
    if rows != served:
        raise SystemExit(f"the ledger has {rows} rows for {served} answers of the full service")
    return results


async def measure(
    measured: Measured, port: int, pid: int, tickets: Tickets, seconds: float, connections: int
) -> None:
    """A warm-up, then `connections` connections for `seconds`: the rate, the server's CPU
    per answer and the machine's load."""
    warm = await run_phase(port, tickets.next, connections, WARMUP_SECONDS)
    cpu_before, machine_before = tree_cpu_seconds(pid), machine_ticks()
    phase = await run_phase(port, tickets.next, connections, seconds)
    cpu_after, machine_after = tree_cpu_seconds(pid), machine_ticks()
    if phase.errors or warm.errors:
        raise SystemExit(f"requests failed: {phase.first_error or warm.first_error}")
    measured.rates.append(phase.rate)
    measured.cpu_us.append((cpu_after - cpu_before) / phase.ok * 1e6)
    busy, total = (end - start for end, start in zip(machine_after, machine_before, strict=True))
    measured.busy.append(busy / total)
    measured.client.append(phase.client_cpu_share)
    measured.served += warm.ok + phase.ok


def render(results: dict[str, Measured], rounds: int, seconds: float, connections: int) -> str:
    rows = [
        "| server | workers | requests/s | x its 1-worker rate | CPU µs per request "
        "| requests per CPU-second | machine CPU busy |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, measured in results.items():
        server, workers = name.rsplit(", ", 1)
        rate, cpu_us = statistics.median(measured.rates), statistics.median(measured.cpu_us)
        one = statistics.median(results[f"{server}, 1"].rates)
        rows.append(
            f"| {server} | {workers} | {rate:.0f} | {rate / one:.2f} | {cpu_us:.0f} "
            f"| {1e6 / cpu_us:.0f} | {statistics.median(measured.busy):.0%} |"
        )
    per_round = "; ".join(
        f"{name}: " + " ".join(f"{rate:.0f}" for rate in measured.rates)
        for name, measured in results.items()
    )
    client = max(share for measured in results.values() for share in measured.client)
    return "\n".join(
        [
            *rows,
            "",
            f"Medians of {rounds} rounds, {connections} connections for {seconds:g} s each, "
            f"against {BASELINE.label} (`{BASELINE.model}`) at the shipped fake upstream. "
            f"Requests/s per round: {per_round}. CPU is the server's whole process tree; "
            f"the load generator used at most {client:.0%} of a core.",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; the upstream, the OTLP sink, Redis and the load "
            "generator run on the same CPUs.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers_measure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    results = uvloop.run(measure_all(args.rounds, args.seconds, args.connections))
    sys.stdout.write(render(results, args.rounds, args.seconds, args.connections) + "\n")


if __name__ == "__main__":
    main()
