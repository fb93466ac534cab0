"""What an eval needs to know about a case's model calls: the tokens they used, summed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..llm.observer import Attempt, Outcome
from ..llm.port import ModelRequest, ModelResponse, Usage


@dataclass
class CountingObserver:
    """A `CallObserver` that adds up usage over a case's calls (the first one and any repair)."""

    usage: Usage = field(default_factory=Usage)

    async def call_started(
        self, model: str, request: ModelRequest, attempt: Attempt
    ) -> CountingObserver:
        return self

    def finished(
        self,
        response: ModelResponse | None,
        outcome: Outcome,
        *,
        error_type: str | None = None,
        first_token_ms: float | None = None,
    ) -> None:
        if response is not None:
            used = response.usage
            self.usage = Usage(
                self.usage.input_tokens + used.input_tokens,
                self.usage.output_tokens + used.output_tokens,
                self.usage.cached_input_tokens + used.cached_input_tokens,
                self.usage.cache_write_tokens + used.cache_write_tokens,
            )

    def retrying(self, model: str, attempt: int, wait_seconds: float, error: BaseException) -> None:
        """Not called: an eval asks one model once (pydantic-evals retries whole cases)."""

    def falling_back(self, model: str, error: BaseException) -> None:
        """Not called: an eval has no fallback chain."""

    def skipping(self, model: str, reason: str) -> None:
        """Not called: an eval has no breaker."""
