"""The throughput benchmark (`make bench`) runs end to end and its report is complete.

Tiny settings keep it to a few seconds, most of them spent starting the servers. No threshold
is asserted on the numbers, which depend on the machine; what is asserted is what makes them
meaningful: no failed request, spans exported, one ledger row per request the full stack served.
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
    "bare endpoint, p50 ms",
    "full stack, p50 ms",
)


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
        assert float(_row(report, measurement)[0]) > 0, measurement
    assert NUMBER.fullmatch(_row(report, "added p50 ms")[0])  # noise can make it negative
    assert _row(report, "errors")[0] == "0"
    assert int(_row(report, "span batches received")[0]) > 0
    rows, served = _row(report, "ledger rows, full stack")
    assert served == f"= {rows} served"
    assert int(rows) > 0
    assert f"`python -m benchmarks.throughput {' '.join(options)}`" in report
