"""Start real Redis and PostgreSQL servers for tests: code is tested against what production runs.

Each server runs on 127.0.0.1 on a free port, with its files in a temporary directory that is
deleted afterwards. Startup and shutdown are bounded in time, and a missing binary fails the test
with how to install it: a skipped test would hide that the code was never run.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

import pytest

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 60.0  # initdb and createdb: a slow CI runner still finishes in seconds
POSTGRES_USER = "postgres"

REDIS_INSTALL_HINT = (
    "install it: `apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS)"
)
POSTGRES_INSTALL_HINT = (
    "install it: `apt-get install postgresql` (Debian/Ubuntu), `brew install postgresql@16` (macOS)"
)
POSTGRES_BINARIES = ("initdb", "postgres", "pg_isready", "createdb", "psql")


class _RunAs(TypedDict, total=False):
    """subprocess arguments that run a command as another user."""

    user: int
    group: int
    extra_groups: list[int]


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server without persistence; yield its URL (redis://127.0.0.1:<port>/0)."""
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail(f"redis-server is not on PATH; {REDIS_INSTALL_HINT}", pytrace=False)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="redis-") as tmp:
        log_path = Path(tmp) / "redis.log"
        args = [found, "--bind", HOST, "--port", str(port), "--dir", tmp]
        args += ["--save", "", "--appendonly", "no"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 -- absolute path, arguments built here
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
            )
        try:
            _wait_until_ready("redis-server", process, lambda: _redis_answers_ping(port), log_path)
            yield f"redis://{HOST}:{port}/0"
        finally:
            _stop(process, signal.SIGTERM)


@contextmanager
def postgres_server() -> Iterator[str]:
    """initdb a throwaway cluster, start postgres and create a database; yield its asyncpg URL.

    fsync is off: the data is deleted afterwards, so syncing it would only slow tests down.
    """
    bin_dir = postgres_bin_dir()
    run_as = _unprivileged_user()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="postgres-") as tmp:
        if run_as:
            os.chown(tmp, run_as["user"], run_as["group"])
        data = Path(tmp) / "data"
        log_path = Path(tmp) / "postgres.log"
        initdb_args: list[str | Path] = [bin_dir / "initdb", "-D", data, "-U", POSTGRES_USER]
        initdb_args += ["-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]
        postgres_args: list[str | Path] = [bin_dir / "postgres", "-D", data, "-c", "fsync=off"]
        postgres_args += ["-c", f"listen_addresses={HOST}", "-c", f"port={port}"]
        postgres_args += ["-c", f"unix_socket_directories={tmp}"]
        with log_path.open("wb") as log:
            initdb = subprocess.run(  # noqa: S603 -- absolute path, arguments built here
                initdb_args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tmp,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
                **run_as,
            )
            if initdb.returncode != 0:
                pytest.fail(f"initdb failed; its output:\n{log_path.read_text()}", pytrace=False)
            process = subprocess.Popen(  # noqa: S603 -- absolute path, arguments built here
                postgres_args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tmp,
                **run_as,
            )
        try:
            _wait_until_ready(
                "postgres", process, lambda: _postgres_is_ready(bin_dir, port), log_path
            )
            createdb = subprocess.run(  # noqa: S603 -- absolute path, arguments built here
                [bin_dir / "createdb", "-h", HOST, "-p", str(port), "-U", POSTGRES_USER, "test"],
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
            if createdb.returncode != 0:
                pytest.fail(f"createdb failed: {createdb.stderr}", pytrace=False)
            yield f"postgresql+asyncpg://{POSTGRES_USER}@{HOST}:{port}/test"
        finally:
            _stop(process, signal.SIGINT)  # SIGINT is PostgreSQL's "fast" shutdown


def postgres_bin_dir() -> Path:
    """The directory holding the PostgreSQL server binaries.

    Debian/Ubuntu keep them off PATH, under /usr/lib/postgresql/<version>/bin.
    """
    candidates: list[Path] = []
    on_path = shutil.which("postgres")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    candidates += _newest_first(Path("/usr/lib/postgresql").glob("*/bin"))
    candidates.append(Path("/usr/local/pgsql/bin"))
    for homebrew in ("/opt/homebrew/opt", "/usr/local/opt"):
        candidates += _newest_first(Path(homebrew).glob("postgresql@*/bin"))
    for directory in candidates:
        if all((directory / name).is_file() for name in POSTGRES_BINARIES):
            return directory
    pytest.fail(f"PostgreSQL server binaries not found; {POSTGRES_INSTALL_HINT}", pytrace=False)


def _newest_first(directories: Iterator[Path]) -> list[Path]:
    """Sort .../16/bin or .../postgresql@16/bin by version, highest first."""

    def version(directory: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))

    return sorted(directories, key=version, reverse=True)


def _unprivileged_user() -> _RunAs:
    """PostgreSQL refuses to run as root, and CI containers run tests as root."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    pytest.fail("running as root, and neither a 'postgres' nor a 'nobody' user exists")


def _free_port() -> int:
    """Let the kernel pick an unused port, so parallel test runs do not collide."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _redis_answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _postgres_is_ready(bin_dir: Path, port: int) -> bool:
    try:
        probe = subprocess.run(  # noqa: S603 -- absolute path, arguments built here
            [bin_dir / "pg_isready", "-q", "-h", HOST, "-p", str(port), "-t", "1"],
            timeout=5.0,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def _wait_until_ready(
    name: str, process: subprocess.Popen[bytes], ready: Callable[[], bool], log_path: Path
) -> None:
    """Poll until the server answers; fail with its log if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            state = "timed out" if process.returncode is None else f"exited {process.returncode}"
            pytest.fail(
                f"{name} did not start ({state}); its log:\n{log_path.read_text()}",
                pytrace=False,
            )
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Stop gracefully, or kill after STOP_TIMEOUT_SECONDS so no test run leaks a server."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
