"""The telemetry-floor benchmark (`benchmarks/telemetry_floor.py`) runs end to end.

Tiny settings: no figure is asserted, since they depend on the machine. What is asserted is what
makes its figures mean what docs/performance.md says: every server answered, and each produced
exactly the telemetry it is described as producing.
"""

from __future__ import annotations

import re
import sys

import pytest

from .helpers import TEMPLATE_ROOT, clean_env, run

TELEMETRY = {
    "bare": (0.0, 0.0),
    "bare + spans, metrics, logs": (2.0, 2.0),
    "bare + spans": (2.0, 0.0),
    "full": (2.0, 2.0),
}
"""Each server's spans and log lines per request, as the benchmark describes it."""


def _rows(report: str) -> dict[str, list[str]]:
    rows = re.findall(r"^\| (bare[^|]*|full) \|(.+)\|$", report, re.M)
    return {name.strip(): [cell.strip() for cell in cells.split("|")] for name, cells in rows}


@pytest.mark.slow
def test_floor_benchmark_measures_each_server_with_its_telemetry() -> None:
    options = ["--rounds", "1", "--seconds", "0.3"]
    result = run(
        [sys.executable, "benchmarks/telemetry_floor.py", *options],
        cwd=TEMPLATE_ROOT,
        env=clean_env(),
        timeout=600,
    )
    rows = _rows(result.stdout)
    assert tuple(rows) == tuple(TELEMETRY), result.stdout
    for name, (rate, ratio, cpu, spans, lines) in rows.items():
        assert min(float(rate), float(ratio), float(cpu)) > 0, (name, result.stdout)
        expected_spans, expected_lines = TELEMETRY[name]
        assert float(spans) == expected_spans, (name, result.stdout)
        if name == "full":  # its start-up and shutdown lines come on top
            assert float(lines) >= expected_lines, result.stdout
        else:
            assert float(lines) == expected_lines, (name, result.stdout)
    assert f"benchmarks/telemetry_floor.py {' '.join(options)}`" in result.stdout
