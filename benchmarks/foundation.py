"""Benchmark the template's foundation targets: copy time, generated test-suite time, readiness.

Run from the repository root:

    uv run python benchmarks/foundation.py [--runs 5]

Targets (issue: foundation): `copier copy` of the defaults <= 3 s; the generated project's test
suite <= 30 s with a warm uv cache; the service answering /healthz <= 1.5 s after start.
Prints a Markdown table of median, min and max wall-clock seconds over the runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    return env


def run(command: list[str], cwd: Path) -> str:
    """Run `command` outside this repository's virtualenv; its standard output."""
    done = subprocess.run(
        command, cwd=cwd, env=_env(), check=True, capture_output=True, timeout=600
    )
    return done.stdout.decode()


def run_measurement(project: Path, module: str, arguments: Sequence[str]) -> str:
    """Run `benchmarks.<module>` (added to the project's `benchmarks/`) with the project's
    interpreter; its standard output, or exit with its standard error if it fails."""
    python = project / ".venv" / "bin" / "python"
    try:
        return run([str(python), "-m", f"benchmarks.{module}", *arguments], project)
    except subprocess.CalledProcessError as failed:
        sys.exit(failed.stderr.decode())


def copy_template(template: Path, destination: Path, *extra: str) -> None:
    run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            *extra,
            str(template),
            str(destination),
        ],
        cwd=ROOT,
    )


def installed_default_project(work: Path) -> Path:
    """This checkout's template, as it is on disk, generated with the defaults under `work` and
    installed: the project other benchmarks add their modules to."""
    template = work / "template"
    shutil.copytree(ROOT, template, ignore=IGNORED)
    project = work / "project"
    copy_template(template, project)
    run(["uv", "sync", "--locked"], cwd=project)
    return project


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _time_to_healthy(command: list[str], cwd: Path) -> float:
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 30:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.01)
        raise TimeoutError("the service did not answer /healthz within 30 s")
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        template = work / "template"
        shutil.copytree(ROOT, template, ignore=IGNORED)
        results: dict[str, list[float]] = {}

        project = work / "project"
        copy_template(template, project)  # warm-up: fills the uv cache for the lock task
        run(["uv", "sync", "--locked"], cwd=project)
        run(["uv", "run", "--locked", "pytest", "-q"], cwd=project)  # warm caches

        for index in range(runs):
            results.setdefault("copier copy --defaults (render + .env + uv lock)", []).append(
                _timed(lambda i=index: copy_template(template, work / f"copy{i}"))
            )
            results.setdefault("copier copy --defaults --skip-tasks (render only)", []).append(
                _timed(lambda i=index: copy_template(template, work / f"render{i}", "--skip-tasks"))
            )
            results.setdefault("generated test suite: uv run --locked pytest", []).append(
                _timed(lambda: run(["uv", "run", "--locked", "pytest", "-q"], cwd=project))
            )
            results.setdefault("ready: .venv/bin/ai-service serve -> /healthz 200", []).append(
                _time_to_healthy([str(project / ".venv/bin/ai-service"), "serve"], project)
            )
            results.setdefault(
                "ready: uv run --locked ai-service serve -> /healthz 200", []
            ).append(_time_to_healthy(["uv", "run", "--locked", "ai-service", "serve"], project))

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"Runs: {runs}\n")
    print("| measurement | median s | min s | max s |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in results.items():
        print(
            f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"
        )


if __name__ == "__main__":
    main()
