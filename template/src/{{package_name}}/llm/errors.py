"""Failures of a model call, classified by what the caller should do about them.

Adapters translate each provider's exceptions into these, so retry, circuit-breaker and
fallback decisions are made once, on these types, for every provider.
"""

from __future__ import annotations


class ModelError(Exception):
    """A model call did not produce a usable answer."""


class ModelUnavailableError(ModelError):
    """Transient: rate limited (429), overloaded (529), 408/409, 5xx, timeout, connection error.

    Worth retrying after `retry_after` seconds when the provider said so (`Retry-After`), and
    counted by the model's circuit breaker.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelRequestError(ModelError):
    """Permanent for this request: the provider rejected it (400, 401, 403, 404, 422).

    Retrying the same request cannot help; the next model of the chain may.
    """


class ContextWindowExceededError(ModelRequestError):
    """The input does not fit the model's context window."""


class BudgetExhaustedError(ModelError):
    """Calling this model could overspend a budget; a cheaper model of the chain may still fit."""


class ModelRefusalError(ModelError):
    """The model refused to answer, or the provider's content filter stopped it."""


class InvalidModelOutputError(ModelError):
    """The model answered, but not in the shape the feature asked for."""


class CircuitOpenError(ModelError):
    """The model's circuit breaker is open: it is not called until the cooldown ends."""


class NoModelAvailableError(ModelError):
    """Every model of the chain failed or was skipped: nothing can serve this request."""


class EveryModelRefusedError(NoModelAvailableError):
    """Every model the chain asked declined to answer: retrying the same input will not help."""


class ModelConfigurationError(ValueError):
    """A `provider:model` string names something this service cannot build."""
