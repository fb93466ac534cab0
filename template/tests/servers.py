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
from functools import partial
from pathlib import Path
from typing import TypedDict

import pytest

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 60.0  # initdb and createdb: a slow CI runner still finishes in seconds
POSTGRES_USER = "postgres"
PORT_ATTEMPTS = 3
PORT_TAKEN = "Address already in use"

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
    with tempfile.TemporaryDirectory(prefix="redis-") as tmp:
        log_path = Path(tmp) / "redis.log"

        def launch(port: int) -> subprocess.Popen[bytes]:
            args = [found, "--bind", HOST, "--port", str(port), "--dir", tmp]
            args += ["--save", "", "--appendonly", "no"]
            with log_path.open("ab") as log:
                return subprocess.Popen(  # noqa: S603 -- absolute path, arguments built here
                    args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
                )

        process, port = _start_on_a_free_port("redis-server", launch, _redis_is_ours, log_path)
        try:
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
    with tempfile.TemporaryDirectory(prefix="postgres-") as tmp:
        if run_as:
            os.chown(tmp, run_as["user"], run_as["group"])
        data = Path(tmp) / "data"
        log_path = Path(tmp) / "postgres.log"
        initdb_args: list[str | Path] = [bin_dir / "initdb", "-D", data, "-U", POSTGRES_USER]
        initdb_args += ["-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]
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

        def launch(port: int) -> subprocess.Popen[bytes]:
            args: list[str | Path] = [bin_dir / "postgres", "-D", data, "-c", "fsync=off"]
            args += ["-c", f"listen_addresses={HOST}", "-c", f"port={port}"]
            args += ["-c", f"unix_socket_directories={tmp}"]
            with log_path.open("ab") as log:
                return subprocess.Popen(  # noqa: S603 -- absolute path, arguments built here
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=tmp,
                    **run_as,
                )

        process, port = _start_on_a_free_port(
            "postgres", launch, lambda port, _: _postgres_is_ours(data, port), log_path
        )
        try:
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


def _start_on_a_free_port(
    name: str,
    launch: Callable[[int], subprocess.Popen[bytes]],
    is_ours: Callable[[int, subprocess.Popen[bytes]], bool],
    log_path: Path,
) -> tuple[subprocess.Popen[bytes], int]:
    """Launch the server on a free port; return its process and port once it answers there.

    A port found free can be taken by a parallel test run before the server binds it: the
    server then exits saying so, and is launched again on another port. `is_ours` asks the
    server on the port who it is, so a test never talks to another run's server.
    """
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        logged_before = log_path.stat().st_size if log_path.exists() else 0
        process = launch(port)
        answers = partial(is_ours, port, process)
        if _wait_until_ours(name, process, answers, log_path, logged_before):
            return process, port
    pytest.fail(f"{name}: {PORT_ATTEMPTS} free ports were taken before it could bind them")


def _wait_until_ours(
    name: str,
    process: subprocess.Popen[bytes],
    answers: Callable[[], bool],
    log_path: Path,
    logged_before: int,
) -> bool:
    """Poll until the server answers (True) or exits because its port was taken (False); fail
    with its log if it exits otherwise or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not answers():
        exited = process.poll() is not None
        if exited or time.monotonic() > deadline:
            _stop(process, signal.SIGKILL)
            log = log_path.read_bytes()[logged_before:].decode(errors="replace")
            if exited and PORT_TAKEN in log:
                return False
            state = f"exited {process.returncode}" if exited else "timed out"
            pytest.fail(f"{name} did not start ({state}); its log:\n{log}", pytrace=False)
        time.sleep(0.05)
    return True


def _redis_is_ours(port: int, process: subprocess.Popen[bytes]) -> bool:
    """Whether the Redis answering on `port` is `process`, by the process id it reports."""
    info = b""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as conn:
            conn.sendall(b"INFO server\r\nQUIT\r\n")  # QUIT: Redis closes once it has answered
            while chunk := conn.recv(4096):
                info += chunk
    except OSError:
        return False
    return f"process_id:{process.pid}\r\n".encode() in info


def _postgres_is_ours(data: Path, port: int) -> bool:
    """Whether the cluster in `data` accepts connections on `port`, by its postmaster.pid.

    PostgreSQL writes its port on line 4 and "ready" on line 8 once it accepts connections.
    """
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[3] == str(port) and lines[7].strip() == "ready"


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Stop gracefully, or kill after STOP_TIMEOUT_SECONDS so no test run leaks a server."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
