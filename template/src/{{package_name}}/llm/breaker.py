"""A circuit breaker per model: stop calling a model that keeps failing, probe it later.

Closed: calls flow; the breaker opens after `consecutive_failures` failures in a row, or when
at least `minimum_calls` of the last `window` calls ran and `failure_rate` of them failed (the
rules Envoy's outlier detection and resilience4j use). Open: calls are refused for `cooldown`
seconds. Half-open: one trial call is let through; success closes, failure reopens.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
TransitionListener = Callable[[str, BreakerState, BreakerState], None]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When to open and for how long."""

    consecutive_failures: int = 5
    failure_rate: float = 0.5
    minimum_calls: int = 20
    window: int = 50
    cooldown_seconds: float = 30.0


class CircuitBreaker:
    """The state of one model's circuit; not thread-safe, one event loop owns it."""

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy,
        on_transition: TransitionListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._policy = policy
        self._on_transition = on_transition
        self._clock = clock
        self._state: BreakerState = "closed"
        self._outcomes: deque[bool] = deque(maxlen=policy.window)
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if (
            self._state == "open"
            and self._clock() - self._opened_at >= self._policy.cooldown_seconds
        ):
            self._transition("half_open")
        return self._state

    def allow(self) -> bool:
        """Whether a call may go to the model now; in half-open, only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._trial_in_flight = False
        self._consecutive_failures = 0
        self._outcomes.append(True)
        if self._state == "half_open":
            self._outcomes.clear()
            self._transition("closed")
        elif self._tripped():
            self._open()

    def record_failure(self) -> None:
        self._trial_in_flight = False
        self._consecutive_failures += 1
        self._outcomes.append(False)
        if self._state == "half_open" or self._tripped():
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._transition("open")

    def release(self) -> None:
        """Give back a half-open trial slot that ended with neither success nor failure."""
        self._trial_in_flight = False

    def _tripped(self) -> bool:
        if self._state != "closed":
            return False
        if self._consecutive_failures >= self._policy.consecutive_failures:
            return True
        calls = len(self._outcomes)
        failures = calls - sum(self._outcomes)
        return calls >= self._policy.minimum_calls and failures / calls >= self._policy.failure_rate

    def _transition(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if new == "closed":
            self._consecutive_failures = 0
        if old != new and self._on_transition is not None:
            self._on_transition(self.name, old, new)
