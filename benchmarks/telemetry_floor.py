"""What the service's telemetry alone costs against the throughput target of issue #4.

Run from the repository root:

    uv run python benchmarks/telemetry_floor.py [--rounds 3] [--seconds 5]

It generates the default project in a scratch directory, installs it, adds the two modules of
`benchmarks/telemetry_floor/` to the project's `benchmarks` package and runs them with the
project's own benchmark harness. Four servers are measured in one run, interleaved: the bare
endpoint of `make bench`; the same endpoint with the service's telemetry and nothing else
(request span and log line, model-call span, metrics and log line, exported to a local OTLP
sink, sampled at 100 %); the same with only the spans and the request middleware; and the full
service. It prints a Markdown table: requests per second, the ratio to the bare endpoint, server
CPU per request, and the spans and log lines each server produced per request.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from foundation import ROOT, installed_default_project, run_measurement

MODULES = {
    "telemetry_only_app.py": "floor_app.py",
    "measure.py": "floor_measure.py",
}
"""Files of `benchmarks/telemetry_floor/`, and their names in the generated `benchmarks/`."""
HERE = ROOT / "benchmarks" / "telemetry_floor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        project = installed_default_project(work)
        for source, target in MODULES.items():
            shutil.copy(HERE / source, project / "benchmarks" / target)
        options = ["--rounds", str(args.rounds), "--seconds", f"{args.seconds:g}"]
        measured = run_measurement(project, "floor_measure", options)
    print(measured)
    print(f"Command: `uv run python benchmarks/telemetry_floor.py {' '.join(options)}`")


if __name__ == "__main__":
    main()
