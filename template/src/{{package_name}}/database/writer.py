"""Write rows in batches, off the request path, and lose none at shutdown.

`record` only appends to an in-memory buffer, so a slow or unavailable database never slows a
request. A background task inserts the buffer in batches (one insert per table); when an insert
fails the rows stay buffered and are retried with backoff. `flush` writes what is buffered at
once, for a reader that must see a row recorded moments ago. `aclose` (called at graceful
shutdown) writes everything still buffered before the process exits. Rows for any table go
through the same writer: ledger rows, answers, shadow comparisons.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from typing import Any, ClassVar, Protocol

import structlog
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

FLUSH_INTERVAL_SECONDS = 0.5
BATCH_SIZE = 500
MAX_BACKOFF_SECONDS = 10.0
DRAIN_RETRY_SECONDS = 0.1


class Row(Protocol):
    """A row to insert: its table, and its column values."""

    TABLE: ClassVar[Table]

    def values(self) -> dict[str, Any]: ...


MAX_BUFFERED_ROWS = 200_000
"""Past this many unwritten rows (the database has been down a long time) new rows are counted
as dropped rather than exhausting memory; `ledger_rows_dropped` says how many."""


class RowWriter:
    """Buffers rows and inserts them in the background; one per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._buffer: deque[Row] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inserting = asyncio.Lock()
        """Held while a batch is inserted: one batch at a time, whoever writes it."""
        self._draining = False
        self._in_flight = 0
        self.write_errors = 0
        """Failed inserts so far; their rows were kept and retried."""
        self.dropped = 0
        """Rows lost so far: past `MAX_BUFFERED_ROWS`, or unwritten when shutdown timed out."""

    @property
    def pending(self) -> int:
        """Rows recorded but not yet written, the batch being written included."""
        return len(self._buffer) + self._in_flight

    def record(self, row: Row) -> None:
        """Queue `row` for writing; returns at once."""
        if len(self._buffer) >= MAX_BUFFERED_ROWS:
            self.dropped += 1
            log.error("ledger_rows_dropped", dropped=self.dropped)
            return
        self._buffer.append(row)
        if len(self._buffer) >= BATCH_SIZE:
            self._wake.set()

    async def flush(self) -> bool:
        """Write the rows buffered now, and wait for a batch being written; False if an insert
        failed (its rows stay buffered, and the background task retries them).

        For a reader that must see a row recorded moments ago, such as feedback on an answer
        given just before: it does not wait for the next periodic flush.
        """
        # At least one round, which waits for a batch the background task is inserting.
        batches = max(1, math.ceil(len(self._buffer) / BATCH_SIZE))
        for _ in range(batches):
            if not await self._flush():
                return False
        return True

    def start(self) -> None:
        """Start the background writer (inside the running event loop)."""
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def aclose(self, drain_seconds: float = 10.0) -> None:
        """Write every buffered row, within `drain_seconds`, then stop.

        The writer is asked to finish, never cancelled mid-insert while there is time: a batch
        cut off during its commit could be written twice.
        """
        self._draining = True
        self._wake.set()
        task = self._task or asyncio.create_task(self._run(), name="ledger-drain")
        done, _ = await asyncio.wait({task}, timeout=drain_seconds)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.dropped += len(self._buffer)
            log.error("ledger_rows_lost", rows=len(self._buffer), reason="shutdown timeout")
        await self._engine.dispose()

    async def _run(self) -> None:
        """Flush every half second (at once when a batch is full); back off while inserts fail;
        return once draining has emptied the buffer."""
        backoff = FLUSH_INTERVAL_SECONDS
        while True:
            if not self._draining:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self._wake.wait()
                self._wake.clear()
            ok = True
            while ok and self._buffer:
                ok = await self._flush()
            if self._draining:
                if not self._buffer:
                    return
                await asyncio.sleep(DRAIN_RETRY_SECONDS)
            backoff = FLUSH_INTERVAL_SECONDS if ok else min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _flush(self) -> bool:
        """Insert one batch; on failure put it back at the front and report False."""
        async with self._inserting:
            return await self._insert_batch()

    async def _insert_batch(self) -> bool:
        if not self._buffer:
            return True
        batch = [self._buffer.popleft() for _ in range(min(BATCH_SIZE, len(self._buffer)))]
        self._in_flight = len(batch)
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for row in batch:  # a request's rows interleave tables: one insert for each table
            by_table.setdefault(row.TABLE, []).append(row.values())
        try:
            async with self._engine.begin() as connection:
                for table, values in by_table.items():
                    await connection.execute(table.insert(), values)
        except Exception as exc:
            self._buffer.extendleft(reversed(batch))
            self.write_errors += 1
            log.warning("ledger_write_failed", rows=len(batch), error_type=type(exc).__name__)
            return False
        except BaseException:
            self._buffer.extendleft(reversed(batch))
            raise
        finally:
            self._in_flight = 0
        return True
