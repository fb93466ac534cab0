"""Run shadow jobs beside live traffic without ever touching it.

A sampled request hands its job over once its response is ready. The job runs as a task of its
own, not the request's, so neither the client's response nor its connection waits for it. At
most `max_concurrency` jobs run at once: one more is dropped (and counted), never queued, so a
slow candidate cannot pile up work or memory. Each job gets `timeout_seconds`, and shutdown
waits for the running ones within that bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

ShadowJob = Callable[[float], Awaitable[None]]
"""A job, told the seconds it has; it records its own outcome, a timeout included."""

GRACE_SECONDS = 1.0
"""Beyond its own time budget, how long a job may take to record its outcome."""


class ShadowRunner:
    """Starts shadow jobs as background tasks, bounded in number and time."""

    def __init__(self, max_concurrency: int, timeout_seconds: float) -> None:
        self._slots = max_concurrency
        self._timeout_seconds = timeout_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped = 0

    @property
    def running(self) -> int:
        return len(self._tasks)

    def submit(self, name: str, job: ShadowJob) -> bool:
        """Start `job` now, or drop it (and say so) when every slot is busy."""
        if len(self._tasks) >= self._slots:
            self.dropped += 1
            log.warning("shadow_dropped", job=name, running=len(self._tasks))
            return False
        task = asyncio.create_task(self._run(name, job), name=f"shadow-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def aclose(self) -> None:
        """Let running jobs finish (each is bounded in time), then return."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, name: str, job: ShadowJob) -> None:
        try:
            async with asyncio.timeout(self._timeout_seconds + GRACE_SECONDS):
                await job(self._timeout_seconds)
        except Exception as exc:  # a shadow must never disturb the service
            log.warning("shadow_failed", job=name, error_type=type(exc).__name__)
