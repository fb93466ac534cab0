"""The full service against the peer a team would pick instead: the LiteLLM proxy.

Run from the repository root (not in CI: it installs LiteLLM, a large package, into a scratch
environment from the package index):

    uv run python benchmarks/litellm_peer.py [--rounds 3] [--seconds 5] [--litellm 1.108.7]

It generates the default project in a scratch directory, installs it, installs
`litellm[proxy]` into a separate virtual environment, adds `benchmarks/litellm_peer/measure.py`
to the project's `benchmarks` package and runs it with the project's own harness: the bare SDK
endpoint of `make bench`, the full service and the LiteLLM proxy, all calling the shipped fake
upstream, interleaved. It prints a Markdown table: requests per second, the ratio to the bare
endpoint, added median latency, p99, server CPU per request, start time and idle memory, then
the two targets of the performance issue (#18): at least 3x the proxy's throughput and at most
a quarter of its added latency.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from foundation import ROOT, installed_default_project, run, run_measurement

MEASURE = ROOT / "benchmarks" / "litellm_peer" / "measure.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--litellm", default="1.108.7", help="the LiteLLM version to install")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        project = installed_default_project(work)
        proxy_env = work / "litellm"
        run(["uv", "venv", "--quiet", "--python", sys.executable, str(proxy_env)], cwd=work)
        install = ["uv", "pip", "install", "--quiet", "--python", str(proxy_env / "bin" / "python")]
        run([*install, f"litellm[proxy]=={args.litellm}"], cwd=work)
        shutil.copy(MEASURE, project / "benchmarks" / "peer_measure.py")
        options = ["--rounds", str(args.rounds), "--seconds", f"{args.seconds:g}"]
        executable = str(proxy_env / "bin" / "litellm")
        measured = run_measurement(project, "peer_measure", ["--litellm", executable, *options])
    print(measured)
    print(
        f"LiteLLM {args.litellm}. Command: `uv run python benchmarks/litellm_peer.py "
        f"{' '.join(options)} --litellm {args.litellm}`"
    )


if __name__ == "__main__":
    main()
