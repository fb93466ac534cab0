"""Every instrument the service records, created once from one meter.

The GenAI and HTTP instruments carry their semantic-convention names, units and bucket
boundaries; the `app.*` ones are this service's own (cost, cache, budgets, limits, fallbacks).
Gauges that describe state rather than events (circuit breakers, the ledger's backlog) are
observed when metrics are collected, so they cost nothing per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from . import semconv


class ServiceMetrics:
    """The instruments, as attributes named for what they count."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter
        self.http_duration = meter.create_histogram(
            semconv.HTTP_SERVER_REQUEST_DURATION,
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=semconv.HTTP_DURATION_BUCKETS,
        )
        self.operation_duration = meter.create_histogram(
            semconv.GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=semconv.OPERATION_DURATION_BUCKETS,
        )
        self.token_usage = meter.create_histogram(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=semconv.TOKEN_USAGE_BUCKETS,
        )
        self.cost = meter.create_counter(
            semconv.APP_MODEL_COST, unit="USD", description="Cost of model calls."
        )
        self.unpriced_calls = meter.create_counter(
            semconv.APP_MODEL_UNPRICED_CALLS,
            unit="{call}",
            description="Model calls whose cost is unknown (no price for the model, or cut off).",
        )
        self.fallbacks = meter.create_counter(
            semconv.APP_MODEL_FALLBACKS,
            unit="{fallback}",
            description="Times a model could not answer and the next model of the chain was tried.",
        )
        self.retries = meter.create_counter(
            semconv.APP_MODEL_RETRIES, unit="{retry}", description="Retried model calls."
        )
        self.cache_lookups = meter.create_counter(
            semconv.APP_CACHE_LOOKUPS,
            unit="{lookup}",
            description="Response cache lookups, by result (hit, miss, bypass).",
        )
        self.budget_utilization = meter.create_gauge(
            semconv.APP_BUDGET_UTILIZATION,
            unit="1",
            description="Share of a budget spent in its current window (1 = all of it); "
            "what calls in flight hold is not spent and is not counted.",
        )
        self.budget_held = meter.create_gauge(
            semconv.APP_BUDGET_HELD,
            unit="USD",
            description="What the calls in flight hold against a budget, apart from its spend.",
        )
        self.budget_alerts = meter.create_counter(
            semconv.APP_BUDGET_ALERTS,
            unit="{alert}",
            description="Budgets crossing 50, 80 and 100 percent of their limit.",
        )
        self.budget_rejections = meter.create_counter(
            semconv.APP_BUDGET_REJECTIONS,
            unit="{call}",
            description="Model calls refused or downgraded by a budget, by reason: spent, its "
            "remaining room held by calls in flight, or the store unavailable.",
        )
        self.rate_limited = meter.create_counter(
            semconv.APP_RATE_LIMITED,
            unit="{request}",
            description="Requests refused by a per-tenant rate limit.",
        )
        self.auth_failures = meter.create_counter(
            semconv.APP_AUTH_FAILURES,
            unit="{request}",
            description="Requests refused for a missing or invalid key, or throttled after too "
            "many such failures from one address; whether each was audited.",
        )
        self.output_guardrail = meter.create_counter(
            semconv.APP_GUARDRAIL_OUTPUT,
            unit="{answer}",
            description="Answers the output guardrails redacted, replaced or withheld, by check.",
        )
        self.injection_screenings = meter.create_counter(
            semconv.APP_GUARDRAIL_INJECTION,
            unit="{request}",
            description="Requests screened for prompt injection, by feature and action (allow, "
            "flag, strip, block).",
        )

    def observe(
        self,
        name: str,
        description: str,
        unit: str,
        read: Callable[[], Iterable[Observation]],
        *,
        counter: bool = False,
    ) -> None:
        """An instrument read at collection time: a gauge of state (the breakers' states, the
        ledger's backlog) or, with `counter`, a running total kept elsewhere."""

        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            return read()

        create = (
            self._meter.create_observable_counter
            if counter
            else self._meter.create_observable_gauge
        )
        create(name, [callback], unit=unit, description=description)
