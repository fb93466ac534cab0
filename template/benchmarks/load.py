"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

General-purpose HTTP clients spend more CPU per request than a bare FastAPI endpoint does, so
they, not the server, would set the measured rate. This client writes pre-built request bytes
and reads only the status line and `Content-Length`; `throughput` checks its ceiling against a
trivial endpoint and reports it next to the results.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HOST = "127.0.0.1"
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"content-length"


class ProtocolError(Exception):
    """The server answered something this client cannot read."""


BROKEN = (OSError, EOFError, asyncio.LimitOverrunError, ProtocolError, ValueError)
"""How a connection fails: refused or reset, closed mid-answer (`IncompleteReadError` is an
`EOFError`), or an unreadable answer."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A response's status and body; its headers are not kept."""

    status: int
    body: bytes


class Connection:
    """One keep-alive connection, used for one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> Reply:
        """Send `request` and read its whole response."""
        self._writer.write(request)
        head = await self._reader.readuntil(_HEADER_END)
        status = int(head[9:12])
        return Reply(status, await self._reader.readexactly(_content_length(head)))

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == _CONTENT_LENGTH:
            return int(value)
    raise ProtocolError("a response without Content-Length (chunked bodies are not read)")


async def fetch(port: int, request: bytes) -> Reply:
    """One request on a fresh connection."""
    connection = await Connection.open(port)
    try:
        return await connection.exchange(request)
    finally:
        await connection.close()


@dataclass(slots=True)
class Phase:
    """What one phase of load produced: answers, failures and every request's latency."""

    ok: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies_ns: list[int] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        """Median latency: from writing a request to having read its whole response."""
        return statistics.median(self.latencies_ns) / 1e6 if self.latencies_ns else 0.0

    @property
    def p99_ms(self) -> float:
        """The latency 99 requests in 100 beat: where collector pauses and stalls show."""
        if len(self.latencies_ns) < 2:
            return self.p50_ms
        return statistics.quantiles(self.latencies_ns, n=100)[98] / 1e6

    @property
    def client_cpu_share(self) -> float:
        """The load generator's CPU time over wall time: near 1.0, it limits the rate itself."""
        return self.client_cpu_seconds / self.seconds if self.seconds else 0.0

    def fail(self, reason: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = reason


async def run_phase(
    port: int, next_request: Callable[[], bytes], connections: int, seconds: float
) -> Phase:
    """Keep `connections` connections busy for `seconds`; each sends its next request as soon
    as the previous answer is read (a closed loop, as a fixed pool of callers would)."""
    phase = Phase()
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline_ns = time.perf_counter_ns() + int(seconds * 1e9)
    await asyncio.gather(
        *(_drive(port, next_request, deadline_ns, phase) for _ in range(connections))
    )
    phase.seconds = time.perf_counter() - started
    phase.client_cpu_seconds = time.process_time() - cpu_started
    return phase


async def _drive(
    port: int, next_request: Callable[[], bytes], deadline_ns: int, phase: Phase
) -> None:
    """One connection's loop; a broken connection is an error and ends this connection."""
    try:
        connection = await Connection.open(port)
    except OSError as exc:
        phase.fail(f"connect: {exc!r}")
        return
    try:
        while time.perf_counter_ns() < deadline_ns:
            request = next_request()
            sent = time.perf_counter_ns()
            reply = await connection.exchange(request)
            phase.latencies_ns.append(time.perf_counter_ns() - sent)
            if reply.status == 200:
                phase.ok += 1
            else:
                phase.fail(f"HTTP {reply.status}: {reply.body[:300]!r}")
    except BROKEN as exc:
        phase.fail(f"connection: {exc!r}")
    finally:
        await connection.close()
