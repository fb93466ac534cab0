"""The task an eval runs for each case: one model, one prompt version, no fallback.

The request goes through the feature's own request path (the prompt rendered with its fields as
variables, fitted to the model's context window, one validated call with one repair), but
through no fallback chain: a fallback would hide the very failures an eval is for. A transient
failure (`ModelUnavailableError`) is retried with jittered backoff; whatever still fails (an
answer outside the schema, a refusal, a rejected request, an outage) is an answer too, with
`error` saying which, so it is scored rather than dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from ..costs.pricing import PriceBook
from ..feature import Feature
from ..llm import structured
from ..llm.errors import ModelError, ModelUnavailableError
from ..llm.port import Model, ModelRequest, Usage
from ..prompts import Prompt
from ..serving.plan import text_fields
from ..serving.requests import fit, render
from .calls import CountingObserver

MAX_BACKOFF_SECONDS = 10.0


class EvalAnswer(BaseModel):
    """What the model answered for a case, with what it took."""

    result: dict[str, Any] | None
    """The answer's fields, as JSON: the feature's result."""
    error: str | None = None
    """Why there is no result: `InvalidModelOutputError`, `ModelRefusalError`, …"""
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal | None = None
    """None when the model is not priced (see `MODEL_PRICES`): unknown, not free."""


@dataclass(frozen=True, slots=True)
class FeatureTask:
    """Answer `feature`'s requests with `model` and `prompt`, as the service would without its
    fallbacks."""

    feature: Feature
    model: Model
    prompt: Prompt
    prices: PriceBook
    context_window: int | None
    retries: int = 2
    backoff_seconds: float = 0.5
    """The first retry waits up to this long; each next one up to twice as long (full jitter)."""

    async def __call__(self, received: BaseModel) -> EvalAnswer:
        inputs = text_fields(received)
        request = render(self.feature, self.prompt, inputs)
        observer = CountingObserver()
        started = time.perf_counter()
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            fitted = fit(self.feature, self.prompt, inputs, request, self.context_window)
            result = (await self._generate(fitted, observer)).model_dump(mode="json")
        except ModelError as exc:
            error = type(exc).__name__
        return EvalAnswer(
            result=result,
            error=error,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            input_tokens=observer.usage.input_tokens,
            output_tokens=observer.usage.output_tokens,
            cost_usd=self._cost(observer.usage),
        )

    async def _generate(self, request: ModelRequest, observer: CountingObserver) -> BaseModel:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ModelUnavailableError),
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_random_exponential(self.backoff_seconds, max=MAX_BACKOFF_SECONDS),
            reraise=True,
        ):
            with attempt:
                generation = await structured.generate(
                    self.model, request, self.feature.result, observer
                )
                return generation.output
        raise AssertionError("unreachable: tenacity returns the answer or raises")

    def _cost(self, usage: Usage) -> Decimal | None:
        return self.prices.cost(self.model.name, usage)
