"""What the model layer reports about its work, to whoever accounts for it.

The model layer decides: which model to call, whether to retry, when to fall back, whether an
answer is usable. It does not know about spans, metrics, prices, budgets or ledgers; it tells a
`CallObserver` what happened and the observer (the service's meter) records it. Tests and
other callers can pass any object with these methods.
"""

from __future__ import annotations

from typing import Literal, Protocol

from .port import ModelRequest, ModelResponse

Attempt = Literal["first", "repair", "stream"]
"""The first call for a request, the repair of an unusable answer, or a streamed call."""

Outcome = Literal["ok", "invalid_output", "refusal", "error", "cancelled"]
"""How a call ended: a usable answer, one outside the schema, a refusal, a failure, or cut off."""


class CallInProgress(Protocol):
    """One model call that has started."""

    def finished(
        self,
        response: ModelResponse | None,
        outcome: Outcome,
        *,
        error_type: str | None = None,
        first_token_ms: float | None = None,
    ) -> None:
        """The call ended; `response` is None when no answer arrived. Never raises, never waits."""
        ...


class CallObserver(Protocol):
    """Told about every model call, retry, fallback and skipped model of one request."""

    async def call_started(
        self, model: str, request: ModelRequest, attempt: Attempt
    ) -> CallInProgress:
        """A call to `model` is about to be made; may refuse it by raising (e.g. a budget)."""
        ...

    def retrying(self, model: str, attempt: int, wait_seconds: float, error: BaseException) -> None:
        """Attempt number `attempt` of `model` failed and will be retried after a wait."""
        ...

    def falling_back(self, model: str, error: BaseException) -> None:
        """`model` could not answer; the next model of the chain will be tried."""
        ...

    def skipping(self, model: str, reason: str) -> None:
        """`model` was not called (its circuit is open, or the input does not fit)."""
        ...
