"""The one retry loop: transient failures are retried with full-jitter exponential backoff.

Provider SDKs have their own retries switched off, so this loop is the only place a call is
repeated. It honours `Retry-After`, bounds every attempt by the request's deadline and never
sleeps past it: when the next wait would not leave time for another attempt, it gives up at
once so the fallback chain can use the time that is left.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from .deadline import Deadline
from .errors import ModelUnavailableError

T = TypeVar("T")

MIN_ATTEMPT_SECONDS = 0.05
"""An attempt with less time than this left is not worth starting."""

RetryListener = Callable[[int, float, BaseException], None]
"""Told of each retry: the attempt that failed, the wait before the next, and the error."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts, how long each may take, and how long to wait between them."""

    max_attempts: int = 3
    attempt_timeout_seconds: float = 20.0
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0


def backoff_delay(
    policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random
) -> float:
    """Full jitter (uniform up to the exponential cap), but never less than `Retry-After`."""
    cap = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (attempt - 1))
    return max(rng.uniform(0, cap), retry_after or 0.0)


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline: Deadline,
    on_retry: RetryListener | None = None,
    on_attempt: Callable[[ModelUnavailableError | None], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Await `call()` until it succeeds, fails permanently, or attempts or time run out.

    Only `ModelUnavailableError` is retried; each attempt is cancelled when its timeout or
    the deadline passes, which surfaces as a retryable `ModelUnavailableError`. `on_attempt`
    hears every attempt's outcome (None for success), e.g. to feed a circuit breaker.
    """
    jitter = rng or random.Random()  # noqa: S311 - backoff jitter, not cryptography

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after if isinstance(error, ModelUnavailableError) else None
        return backoff_delay(policy, state.attempt_number, retry_after, jitter)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if on_retry is not None and error is not None:
            on_retry(state.attempt_number, state.upcoming_sleep, error)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | _OutOfTime(deadline),
        wait=wait,
        retry=retry_if_exception_type(ModelUnavailableError),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            seconds = min(policy.attempt_timeout_seconds, deadline.remaining())
            if seconds < MIN_ATTEMPT_SECONDS:
                raise ModelUnavailableError("no time left for an attempt")
            try:
                result = await _bounded(call, seconds)
            except ModelUnavailableError as exc:
                if on_attempt is not None:
                    on_attempt(exc)
                raise
            if on_attempt is not None:
                on_attempt(None)
            return result
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover


class _OutOfTime(stop_base):
    """Stop when waiting for the next attempt would leave it no time before the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep + MIN_ATTEMPT_SECONDS > self._deadline.remaining()


async def _bounded(call: Callable[[], Awaitable[T]], seconds: float) -> T:
    try:
        async with asyncio.timeout(seconds):
            return await call()
    except TimeoutError as exc:
        raise ModelUnavailableError(f"attempt timed out after {seconds:.2f}s") from exc
