"""Smoke tests proving the real-server helpers start servers that answer queries."""

from __future__ import annotations

import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from urllib.parse import urlsplit

import pytest

from . import servers
from .servers import HOST, postgres_bin_dir, postgres_server, redis_server


def _resp_command(*parts: str) -> bytes:
    """Encode a command in RESP, Redis' wire protocol, so no client library is needed."""
    encoded = [part.encode() for part in parts]
    return f"*{len(encoded)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
    )


def test_redis_server_round_trips_a_value() -> None:
    value = secrets.token_hex(8)
    with redis_server() as url:
        address = urlsplit(url)
        assert address.hostname is not None
        assert address.port is not None
        with (
            socket.create_connection((address.hostname, address.port), timeout=5.0) as conn,
            conn.makefile("rb") as replies,
        ):
            conn.sendall(_resp_command("SET", "smoke", value))
            assert replies.readline() == b"+OK\r\n"
            conn.sendall(_resp_command("GET", "smoke"))
            assert replies.readline() == b"$16\r\n"
            assert replies.readline() == f"{value}\r\n".encode()


def test_postgres_server_answers_a_query() -> None:
    with postgres_server() as url:
        assert url.startswith("postgresql+asyncpg://")
        libpq_url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        result = subprocess.run(  # noqa: S603 -- absolute path, arguments built here
            [postgres_bin_dir() / "psql", "-X", "-tAc", "select 1", libpq_url],
            capture_output=True,
            text=True,
            timeout=30.0,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1\n"


@pytest.mark.parametrize("server", [redis_server, postgres_server])
def test_a_server_whose_port_is_taken_first_starts_on_another_port(
    monkeypatch: pytest.MonkeyPatch, server: Callable[[], AbstractContextManager[str]]
) -> None:
    """A parallel run can take the port between picking and binding it: the helper must not
    fail, nor hand over the other run's server (here a socket that never answers)."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        ports: Iterator[int] = iter([taken_port, servers._free_port()])
        monkeypatch.setattr(servers, "_free_port", lambda: next(ports))
        with server() as url:
            assert urlsplit(url).port not in (None, taken_port)
