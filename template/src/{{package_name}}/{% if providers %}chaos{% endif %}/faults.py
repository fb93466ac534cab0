"""Which fault the fake provider injects into each request: scripted first, else drawn at random.

Tests script exact sequences (`plan.script("server_error", "none")`) so each retry, fallback and
circuit-breaker path is reproducible; the chaos mode sets a rate per fault kind instead, with a
seeded generator, so a load test's faults are random yet repeatable.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping
from typing import Literal, get_args

FaultKind = Literal[
    "none",
    "rate_limit",
    "server_error",
    "overloaded",
    "slow",
    "hang",
    "malformed",
    "wrong_schema",
    "truncated_stream",
    "refusal",
    "content_filter",
    "bad_request",
    "context_length",
    "no_usage",
]
"""What goes wrong with one request.

- `rate_limit` (429 with `Retry-After`), `server_error` (500), `overloaded` (529),
  `bad_request` (400) and `context_length` (400, the provider's context-length error): an error
  answer instead of a completion.
- `slow`: the answer comes after `slow_seconds`; `hang`: after `hang_seconds`, unless the client
  gives up first.
- `malformed` (answer text that is not JSON), `wrong_schema` (JSON with the wrong fields),
  `refusal` and `content_filter`: a well-formed completion with a bad answer.
- `truncated_stream`: the answer stops before its final event (streamed) or mid-JSON (not).
- `no_usage`: a complete answer that reports no token usage, as servers that ignore a request
  for it (vLLM, Ollama, llama.cpp) send.
"""

FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
ERROR_FAULTS: frozenset[FaultKind] = frozenset(
    {"rate_limit", "server_error", "overloaded", "bad_request", "context_length"}
)
"""The faults answered with an HTTP error instead of a completion."""


def _checked(kind: str) -> FaultKind:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
    return kind


class FaultPlan:
    """Decides each request's fault; safe to script from a test while the server runs."""

    def __init__(
        self,
        rates: Mapping[FaultKind, float] | None = None,
        *,
        seed: int = 0,
        retry_after_seconds: float = 1.0,
        slow_seconds: float = 0.05,
        hang_seconds: float = 300.0,
        chunk_interval_seconds: float = 0.0,
        cut_connection: bool = True,
    ) -> None:
        """Configure the random faults and the fault timings.

        `rates` gives each fault kind's probability (at most 1 in total); `chunk_interval_seconds`
        spaces out streamed events; `cut_connection` makes a truncated answer end by closing the
        connection mid-body (a dying proxy), not by ending the body early (a polite crash).
        """
        self.rates = {_checked(kind): rate for kind, rate in (rates or {}).items()}
        if any(not 0.0 <= rate <= 1.0 for rate in self.rates.values()):
            raise ValueError("each fault rate must be between 0 and 1")
        if sum(self.rates.values()) > 1.0:
            raise ValueError("the fault rates add up to more than 1")
        self.retry_after_seconds = retry_after_seconds
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self.chunk_interval_seconds = chunk_interval_seconds
        self.cut_connection = cut_connection
        self._script: deque[FaultKind] = deque()
        self._random = random.Random(seed)  # noqa: S311 - repeatable chaos, not cryptography
        self._lock = threading.Lock()

    def script(self, *faults: FaultKind) -> None:
        """Queue faults for the next requests, in order, ahead of the random ones."""
        checked = [_checked(fault) for fault in faults]
        with self._lock:
            self._script.extend(checked)

    @property
    def scripted(self) -> int:
        """How many scripted faults are still queued."""
        return len(self._script)

    def next_fault(self) -> FaultKind:
        """The fault for the request arriving now."""
        with self._lock:
            if self._script:
                return self._script.popleft()
            roll = self._random.random()
        threshold = 0.0
        for kind, rate in self.rates.items():
            threshold += rate
            if roll < threshold:
                return kind
        return "none"


def parse_fault_rates(text: str) -> dict[FaultKind, float]:
    """Parse `rate_limit=0.1,server_error=0.05`, the form a command-line flag takes."""
    rates: dict[FaultKind, float] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        kind, separator, rate = entry.partition("=")
        if not separator:
            raise ValueError(f"write each fault rate as kind=probability, not {entry!r}")
        try:
            rates[_checked(kind.strip())] = float(rate)
        except ValueError as exc:
            raise ValueError(f"{entry!r}: {exc}") from None
    return rates
