"""Throughput at one uvicorn worker and at two, for the bare SDK endpoint and the full service.

Run from the repository root:

    uv run python benchmarks/workers.py [--rounds 3] [--seconds 5] [--connections 16]

It generates the default project in a scratch directory, installs it, adds
`benchmarks/workers/measure.py` to the project's `benchmarks` package and runs it with the
project's own benchmark harness: the bare endpoint of `make bench` served by `uvicorn --workers
N`, and the full service served by `serve` with `WORKERS=N`, sharing one Redis (started on
loopback; redis-server must be installed, as for the project's tests). It prints a Markdown
table: requests per second, the rate over the same server's rate at one worker, CPU per request
of the whole process tree, and how busy the machine's CPUs were.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from foundation import ROOT, installed_default_project, run_measurement

MEASURE = ROOT / "benchmarks" / "workers" / "measure.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    options = [
        *("--rounds", str(args.rounds)),
        *("--seconds", f"{args.seconds:g}"),
        *("--connections", str(args.connections)),
    ]
    with tempfile.TemporaryDirectory() as scratch:
        project = installed_default_project(Path(scratch))
        shutil.copy(MEASURE, project / "benchmarks" / "workers_measure.py")
        measured = run_measurement(project, "workers_measure", options)
    print(measured)
    print(f"Command: `uv run python benchmarks/workers.py {' '.join(options)}`")


if __name__ == "__main__":
    main()
