"""The fallback chain: try each model in turn until one answers, ending with the classical model.

For each model the chain checks its circuit breaker, builds a request that fits its context
window (the feature decides how to truncate), and calls it through the retry loop within the
request's deadline. Transient failures count against the model's breaker; anything else
(refusal, invalid answer, rejected request) moves on without blaming the model's health. The
classical model is last and needs no network, so the service degrades instead of failing. When
every model asked declined, the error says so (`EveryModelRefusedError`): retrying cannot help.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog
from pydantic import BaseModel

from . import structured
from .breaker import BreakerPolicy, BreakerState, CircuitBreaker
from .context_window import context_window
from .deadline import Deadline
from .errors import (
    CircuitOpenError,
    ContextWindowExceededError,
    EveryModelRefusedError,
    ModelError,
    ModelRefusalError,
    ModelUnavailableError,
    NoModelAvailableError,
)
from .observer import CallObserver
from .port import Model, ModelRequest, ModelResponse, TextDelta
from .retry import RetryPolicy, call_with_retries
from .routing import RoutingRule, route

log = structlog.get_logger(__name__)

OutputT = TypeVar("OutputT", bound=BaseModel)

RequestBuilder = Callable[[int | None], ModelRequest]
"""Build the request for a model with this context window in tokens (None: unknown or no limit).

The feature decides what to do with an input that does not fit: truncate it, or raise
`ContextWindowExceededError` so the chain moves to the next model.
"""


@dataclass(frozen=True, slots=True)
class Served(Generic[OutputT]):
    """An answer and who gave it: `degraded` when it is not the chain's first model, `refused`
    when a model asked before it declined to answer."""

    output: OutputT
    response: ModelResponse
    model: str
    degraded: bool
    refused: bool = False


@dataclass(slots=True)
class _Failures:
    """The models of one request that could not answer, and how many of them declined."""

    count: int = 0
    refusals: int = 0

    def add(self, error: ModelError) -> None:
        self.count += 1
        self.refusals += isinstance(error, ModelRefusalError)

    def exhausted(self) -> NoModelAvailableError:
        """The error when no model is left: a refusal when every model asked declined."""
        if self.count and self.refusals == self.count:
            return EveryModelRefusedError("every model asked declined to answer")
        return NoModelAvailableError("every model of the chain failed or was skipped")


@dataclass(frozen=True, slots=True)
class _Link:
    model: Model
    breaker: CircuitBreaker | None
    window: int | None


@dataclass(frozen=True, slots=True)
class ChainPolicy:
    """Which models to try, in which order, and how hard to try each."""

    primary: str
    fallbacks: Sequence[str] = ()
    routing: Sequence[RoutingRule] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    context_windows: Mapping[str, int] = field(default_factory=dict)


class FallbackChain:
    """Every configured model with its breaker; the chain for a request is derived per call."""

    def __init__(
        self,
        models: Sequence[Model],
        last_resort: Model,
        policy: ChainPolicy,
        *,
        keys_of: str = "service",
    ) -> None:
        """`keys_of` says whose provider keys the models call with, in breaker logs."""
        on_transition = _transition_logger(keys_of)
        self._links = {
            model.name: _Link(
                model,
                CircuitBreaker(model.name, policy.breaker, on_transition),
                context_window(model.name, policy.context_windows),
            )
            for model in models
            if model.name != last_resort.name
        }
        self._last_resort = _Link(last_resort, None, None)
        self._policy = policy

    async def aclose(self) -> None:
        """Close every model's connections."""
        for link in [*self._links.values(), self._last_resort]:
            await link.model.aclose()

    def breaker_states(self) -> dict[str, BreakerState]:
        """Each network model's circuit state, for readiness reports."""
        return {name: link.breaker.state for name, link in self._links.items() if link.breaker}

    def primary(self, input_chars: int) -> str:
        """The model asked first for an input of this size."""
        return route(self._policy.routing, input_chars, self._policy.primary)

    def knows(self, model: str) -> bool:
        """Whether `model` is one of the chain's models (so it can be asked first)."""
        return model in self._links or model == self._last_resort.model.name

    def model(self, name: str) -> Model:
        """One of the chain's models by name, to ask it alone (a shadow candidate)."""
        link = self._links.get(name)
        if link is not None:
            return link.model
        if name == self._last_resort.model.name:
            return self._last_resort.model
        raise KeyError(name)

    def _chain(self, input_chars: int, first: str | None) -> list[_Link]:
        """`first` (or the routed primary), the fallbacks, then the last resort; asking the last
        resort first asks it alone, as nothing can answer after it."""
        if first == self._last_resort.model.name:
            return [self._last_resort]
        names = dict.fromkeys([first or self.primary(input_chars), *self._policy.fallbacks])
        return [*(self._links[name] for name in names if name in self._links), self._last_resort]

    async def generate(
        self,
        build: RequestBuilder,
        output_type: type[OutputT],
        *,
        observer: CallObserver,
        deadline: Deadline,
        input_chars: int,
        first: str | None = None,
    ) -> Served[OutputT]:
        """The first answer any model of the chain gives; `NoModelAvailableError` if none.

        `first` asks that model before the rest (a flag's choice); it must be one the chain knows.
        """
        chain = self._chain(input_chars, first)
        failures = _Failures()
        for position, link in enumerate(chain):
            request = self._admit(link, build, observer)
            if request is None:
                continue
            try:
                generation = await self._call(link, request, output_type, observer, deadline)
            except ModelError as exc:
                _release(link)
                failures.add(exc)
                observer.falling_back(link.model.name, exc)
                continue
            except BaseException:
                _release(link)
                raise
            return Served(
                generation.output,
                generation.response,
                link.model.name,
                degraded=position > 0,
                refused=failures.refusals > 0,
            )
        raise failures.exhausted()

    async def stream(
        self,
        build: RequestBuilder,
        output_type: type[OutputT],
        *,
        observer: CallObserver,
        deadline: Deadline,
        input_chars: int,
        first: str | None = None,
    ) -> AsyncIterator[TextDelta | Served[OutputT]]:
        """Stream from the first model that starts answering; fall back only before that."""
        failures = _Failures()
        for position, link in enumerate(self._chain(input_chars, first)):
            request = self._admit(link, build, observer)
            if request is None:
                continue
            events = structured.stream(link.model, request, output_type, observer)
            try:
                opening = await self._first_event(link, events, deadline)
            except ModelError as exc:
                await events.aclose()
                _release(link)
                failures.add(exc)
                observer.falling_back(link.model.name, exc)
                continue
            except BaseException:
                await events.aclose()
                _release(link)
                raise
            try:
                async for event in _prepend(opening, events):
                    if isinstance(event, TextDelta):
                        yield event
                    else:
                        refused = failures.refusals > 0
                        yield Served(
                            event.output, event.response, link.model.name, position > 0, refused
                        )
            except ModelUnavailableError:
                if link.breaker:
                    link.breaker.record_failure()
                raise
            finally:
                await events.aclose()
            return
        raise failures.exhausted()

    @staticmethod
    def _admit(link: _Link, build: RequestBuilder, observer: CallObserver) -> ModelRequest | None:
        """The request to send to `link`, or None when it must be skipped."""
        if link.breaker is not None and not link.breaker.allow():
            observer.skipping(link.model.name, "circuit_open")
            return None
        try:
            return build(link.window)
        except ContextWindowExceededError:
            _release(link)
            observer.skipping(link.model.name, "context_window")
            return None

    async def _call(
        self,
        link: _Link,
        request: ModelRequest,
        output_type: type[OutputT],
        observer: CallObserver,
        deadline: Deadline,
    ) -> structured.Generation[OutputT]:
        async def attempt() -> structured.Generation[OutputT]:
            _check_still_closed(link)
            return await structured.generate(link.model, request, output_type, observer)

        if link.breaker is None:  # the last resort: local, instant, tried whatever the time
            return await attempt()

        def on_retry(attempt_number: int, wait: float, error: BaseException) -> None:
            observer.retrying(link.model.name, attempt_number, wait, error)

        return await call_with_retries(
            attempt,
            policy=self._policy.retry,
            deadline=deadline,
            on_retry=on_retry,
            on_attempt=_breaker_feed(link.breaker),
        )

    async def _first_event(
        self,
        link: _Link,
        events: AsyncGenerator[TextDelta | structured.Generation[OutputT]],
        deadline: Deadline,
    ) -> TextDelta | structured.Generation[OutputT]:
        async def first() -> TextDelta | structured.Generation[OutputT]:
            return await anext(events)

        if link.breaker is None:
            return await first()
        return await call_with_retries(
            first,
            policy=RetryPolicy(1, self._policy.retry.attempt_timeout_seconds),
            deadline=deadline,
            on_attempt=_breaker_feed(link.breaker),
        )


def _check_still_closed(link: _Link) -> None:
    """Between retries, stop early if other requests' failures have opened the circuit."""
    if link.breaker is not None and link.breaker.state == "open":
        raise CircuitOpenError(f"the circuit of {link.model.name} opened")


def _breaker_feed(breaker: CircuitBreaker) -> Callable[[ModelUnavailableError | None], None]:
    """Count each attempt: transient failures against the model, successes for it."""

    def record(error: ModelUnavailableError | None) -> None:
        if error is None:
            breaker.record_success()
        else:
            breaker.record_failure()

    return record


def _release(link: _Link) -> None:
    """Give back a half-open trial slot if no attempt outcome was recorded for it."""
    if link.breaker is not None:
        link.breaker.release()


async def _prepend(
    first: TextDelta | structured.Generation[OutputT],
    rest: AsyncIterator[TextDelta | structured.Generation[OutputT]],
) -> AsyncIterator[TextDelta | structured.Generation[OutputT]]:
    yield first
    async for event in rest:
        yield event


def _transition_logger(keys_of: str) -> Callable[[str, BreakerState, BreakerState], None]:
    def log_transition(model: str, old: BreakerState, new: BreakerState) -> None:
        log.warning("breaker_state_changed", model=model, keys_of=keys_of, old=old, new=new)

    return log_transition
