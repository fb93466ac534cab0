"""The throughput benchmark (`make bench`) runs end to end and its report is complete.

Tiny settings keep it to a few seconds, most of them spent starting the servers. No threshold
is asserted on the numbers, which depend on the machine; what is asserted is what makes them
meaningful: no failed request, spans exported, one ledger row per request the full stack served,
and the repeated ticket's answers, and only those, from the response cache.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 180.0
NUMBER = re.compile(r"-?\d+(\.\d+)?")
POSITIVE = (
    "bare endpoint, requests/s",
    "full stack, requests/s",
    "throughput ratio, full / bare",
    "full stack from its cache, requests/s",
    "bare endpoint, p50 / p99 ms",
    "full stack, p50 / p99 ms",
    "server CPU per request, µs, bare / full",
    "CPU per answer from the cache, µs",
    "start to first 200, s, bare / full",
    "idle memory, MB, bare / full",
)
"""Rows whose every number is positive (Linux: CPU and memory are read from /proc)."""


def _row(report: str, measurement: str) -> tuple[str, str]:
    """The value and target cells of one row of the results table."""
    match = re.search(rf"^\| {re.escape(measurement)} \| ([^|]*) \| ([^|]*) \|", report, re.M)
    assert match, f"no {measurement!r} row in the report:\n{report}"
    return match[1].strip(), match[2].strip()


def test_benchmark_reports_every_measurement() -> None:
    command = [sys.executable, "-m", "benchmarks.throughput"]
    options = ["--seconds", "0.1", "--rounds", "1", "--connections", "2"]
    result = subprocess.run(  # noqa: S603 -- our own interpreter, arguments built here
        [*command, *options],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = result.stdout
    for measurement in POSITIVE:
        numbers = [float(number[0]) for number in NUMBER.finditer(_row(report, measurement)[0])]
        assert numbers, measurement
        assert all(number > 0 for number in numbers), measurement
    for measurement in ("added p50 ms", "added p99 ms", "added CPU per request, µs"):
        assert NUMBER.fullmatch(_row(report, measurement)[0])  # noise can make it negative
    assert _row(report, "errors")[0] == "0"
    assert int(_row(report, "span batches received")[0]) > 0
    rows, served = _row(report, "ledger rows, full stack")
    assert served == f"= {rows} served"
    assert int(rows) > 0
    hits, repeated = _row(report, "ledger rows for cache hits")
    assert repeated == f"= {hits} repeated"
    assert int(hits) > 0
    assert f"`python -m benchmarks.throughput {' '.join(options)}`" in report
