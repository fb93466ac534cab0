"""Account for every model call: a span, metrics, a log line, a price, budgets, a ledger row.

The model layer reports each call, retry, fallback and skipped model to a `RequestMeter` (its
`CallObserver`), and the bookkeeping happens here, once, for every feature and every provider.
Nothing here waits on a database: ledger rows are buffered, and budget settlements run in the
background, so accounting adds microseconds, not a round trip, to a request.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import structlog
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .costs.budget import BudgetGate, Reservation
from .costs.pricing import PriceBook, to_nano_usd
from .ledger.schema import LedgerRow
from .ledger.writer import LedgerWriter
from .llm.observer import Attempt, CallInProgress, Outcome
from .llm.port import Message, ModelRequest, ModelResponse, OutputSchema, Usage
from .llm.tokens import estimate_tokens, request_tokens
from .redaction import Redactor
from .telemetry import semconv
from .telemetry.metrics import ServiceMetrics
from .telemetry.tracing import SpanRecorder

log = structlog.get_logger(__name__)

DEFAULT_MAX_OUTPUT_TOKENS = 4096
"""Assumed for the worst case when a prompt sets no `max_output_tokens`."""


@dataclass(frozen=True, slots=True)
class CallContext:
    """Whom the model calls of one request are for: on every row, span, metric and log line."""

    tenant: str
    feature: str
    prompt: str
    request_id: str | None = None


class Meter:
    """The service's accounting for model calls; one per application."""

    def __init__(
        self,
        *,
        prices: PriceBook,
        budgets: BudgetGate,
        ledger: LedgerWriter,
        metrics: ServiceMetrics,
        spans: SpanRecorder,
        redactor: Redactor,
        capture_content: bool,
    ) -> None:
        self.prices = prices
        self.budgets = budgets
        self.ledger = ledger
        self.metrics = metrics
        self.spans = spans
        self.redactor = redactor
        self.capture_content = capture_content

    def for_request(self, context: CallContext) -> RequestMeter:
        """The observer to hand the fallback chain for one request."""
        return RequestMeter(self, context)

    def cache_hit(self, context: CallContext, model: str, latency_ms: float) -> None:
        """Record an answer served from the cache: a ledger row at zero cost, no model call."""
        self.ledger.record(
            LedgerRow(
                occurred_at=dt.datetime.now(dt.UTC),
                request_id=context.request_id,
                tenant=context.tenant,
                feature=context.feature,
                prompt_version=context.prompt,
                model=model,
                response_model=None,
                outcome="cache_hit",
                error_type=None,
                input_tokens=0,
                output_tokens=0,
                cached_input_tokens=0,
                cost_nano_usd=0,
                latency_ms=latency_ms,
            )
        )


class RequestMeter:
    """A `CallObserver` for one request."""

    def __init__(self, meter: Meter, context: CallContext) -> None:
        self._meter = meter
        self.context = context

    async def call_started(
        self, model: str, request: ModelRequest, attempt: Attempt
    ) -> CallInProgress:
        meter = self._meter
        reservation = await meter.budgets.reserve(
            self.context.tenant, self.context.feature, model, self._max_cost(model, request)
        )
        provider, _, model_name = model.partition(":")
        attributes: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model_name,
            semconv.GEN_AI_OUTPUT_TYPE: "json" if request.output else "text",
            semconv.GEN_AI_PROMPT_NAME: self.context.prompt.partition("@")[0],
            semconv.APP_PROMPT_VERSION: self.context.prompt,
            semconv.APP_TENANT: self.context.tenant,
            semconv.APP_FEATURE: self.context.feature,
        }
        if request.settings.temperature is not None:
            attributes[semconv.GEN_AI_REQUEST_TEMPERATURE] = request.settings.temperature
        if request.settings.max_output_tokens is not None:
            attributes[semconv.GEN_AI_REQUEST_MAX_TOKENS] = request.settings.max_output_tokens
        if meter.capture_content:
            attributes.update(_captured_input(request.messages, meter.redactor))
        span = meter.spans.start(
            f"{semconv.OPERATION_CHAT} {model_name}", SpanKind.CLIENT, attributes
        )
        return _MeteredCall(self, model, attempt, span, reservation)

    def _max_cost(self, model: str, request: ModelRequest) -> int:
        """The most this call can cost, in nano-USD; 0 when free or unpriced.

        The input is the messages and the output schema sent with them, estimated at the
        conservative bytes-per-token of `llm.tokens`; the output is the most the prompt allows.
        """
        usage = Usage(
            input_tokens=request_tokens(request.messages) + _schema_tokens(request.output),
            output_tokens=request.settings.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS,
        )
        cost = self._meter.prices.cost(model, usage)
        return to_nano_usd(cost) if cost else 0

    def retrying(self, model: str, attempt: int, wait_seconds: float, error: BaseException) -> None:
        error_type = type(error).__name__
        log.info(
            "model_retry",
            model=model,
            attempt=attempt,
            wait_s=round(wait_seconds, 3),
            error_type=error_type,
        )
        self._meter.metrics.retries.add(
            1, {semconv.APP_MODEL: model, semconv.ERROR_TYPE: error_type}
        )
        trace.get_current_span().add_event(
            "model.retry",
            {
                semconv.APP_MODEL: model,
                "app.retry.attempt": attempt,
                "app.retry.wait_s": wait_seconds,
                semconv.ERROR_TYPE: error_type,
            },
        )

    def falling_back(self, model: str, error: BaseException) -> None:
        error_type = type(error).__name__
        log.warning("model_fallback", model=model, reason=error_type, detail=str(error))
        self._meter.metrics.fallbacks.add(
            1, {semconv.APP_MODEL: model, semconv.ERROR_TYPE: error_type}
        )
        trace.get_current_span().add_event(
            "model.fallback", {semconv.APP_MODEL: model, semconv.ERROR_TYPE: error_type}
        )

    def skipping(self, model: str, reason: str) -> None:
        log.warning("model_skipped", model=model, reason=reason)
        trace.get_current_span().add_event(
            "model.skipped", {semconv.APP_MODEL: model, "app.skip.reason": reason}
        )


class _MeteredCall:
    """One model call in flight; `finished` does all of its bookkeeping at once."""

    def __init__(
        self,
        request_meter: RequestMeter,
        model: str,
        attempt: Attempt,
        span: Span,
        reservation: Reservation,
    ) -> None:
        self._request_meter = request_meter
        self._model = model
        self._attempt = attempt
        self._span = span
        self._reservation = reservation
        self._started = time.perf_counter()

    def finished(
        self,
        response: ModelResponse | None,
        outcome: Outcome,
        *,
        error_type: str | None = None,
        first_token_ms: float | None = None,
    ) -> None:
        seconds = time.perf_counter() - self._started
        meter = self._request_meter._meter
        context = self._request_meter.context
        usage = response.usage if response is not None else Usage()
        cost = self._cost(response, outcome)
        cost_nano = to_nano_usd(cost) if cost is not None else None
        meter.budgets.settle(self._reservation, cost_nano)
        if outcome == "cancelled":
            error_type = "cancelled"
        meter.ledger.record(
            LedgerRow(
                occurred_at=dt.datetime.now(dt.UTC),
                request_id=context.request_id,
                tenant=context.tenant,
                feature=context.feature,
                prompt_version=context.prompt,
                model=self._model,
                response_model=response.model if response is not None else None,
                outcome=outcome,
                error_type=error_type,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                cost_nano_usd=cost_nano,
                latency_ms=round(seconds * 1000, 2),
            )
        )
        self._record_metrics(meter.metrics, context, response, seconds, cost, error_type)
        self._end_span(meter, response, usage, cost, error_type)
        log.info(
            "model_call",
            model=self._model,
            response_model=response.model if response is not None else None,
            prompt_version=context.prompt,
            feature=context.feature,
            attempt=self._attempt,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost_usd=str(cost) if cost is not None else None,
            latency_ms=round(seconds * 1000, 2),
            first_token_ms=first_token_ms,
            outcome=outcome,
            finish_reason=response.finish_reason if response is not None else None,
            error_type=error_type,
            span_id=format(self._span.get_span_context().span_id, "016x"),
        )

    def _cost(self, response: ModelResponse | None, outcome: Outcome) -> Decimal | None:
        """Priced from reported usage; a failed call is not billed; a cut-off one is unknown."""
        if response is not None:
            return self._request_meter._meter.prices.cost(self._model, response.usage)
        return None if outcome == "cancelled" else Decimal(0)

    def _record_metrics(
        self,
        metrics: ServiceMetrics,
        context: CallContext,
        response: ModelResponse | None,
        seconds: float,
        cost: Decimal | None,
        error_type: str | None,
    ) -> None:
        provider, _, model_name = self._model.partition(":")
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model_name,
        }
        if response is not None:
            attributes[semconv.GEN_AI_RESPONSE_MODEL] = (
                response.model.partition(":")[2] or response.model
            )
            usage = response.usage
            metrics.token_usage.record(
                usage.input_tokens, {**attributes, semconv.GEN_AI_TOKEN_TYPE: "input"}
            )
            metrics.token_usage.record(
                usage.output_tokens, {**attributes, semconv.GEN_AI_TOKEN_TYPE: "output"}
            )
        if error_type is not None:
            attributes[semconv.ERROR_TYPE] = error_type
        metrics.operation_duration.record(seconds, attributes)
        owner = {
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model_name,
            semconv.APP_TENANT: context.tenant,
            semconv.APP_FEATURE: context.feature,
        }
        if cost is None:
            # error.type "cancelled": cut off before the usage was known, not a missing price.
            unpriced = {**owner, semconv.ERROR_TYPE: error_type} if error_type else owner
            metrics.unpriced_calls.add(1, unpriced)
        elif cost > 0:
            metrics.cost.add(float(cost), owner)

    def _end_span(
        self,
        meter: Meter,
        response: ModelResponse | None,
        usage: Usage,
        cost: Decimal | None,
        error_type: str | None,
    ) -> None:
        span = self._span
        if response is not None:
            span.set_attributes(
                {
                    semconv.GEN_AI_RESPONSE_MODEL: response.model.partition(":")[2]
                    or response.model,
                    semconv.GEN_AI_RESPONSE_FINISH_REASONS: (response.finish_reason,),
                    semconv.GEN_AI_USAGE_INPUT_TOKENS: usage.input_tokens,
                    semconv.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
                    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.cached_input_tokens,
                }
            )
            if meter.capture_content:
                span.set_attribute(
                    semconv.GEN_AI_OUTPUT_MESSAGES,
                    _captured_output(response, meter.redactor),
                )
        span.set_attribute(semconv.APP_PRICED, cost is not None)
        if cost is not None:
            span.set_attribute(semconv.APP_COST_USD, float(cost))
        if error_type is not None:
            span.set_attribute(semconv.ERROR_TYPE, error_type)
            span.set_status(Status(StatusCode.ERROR))
        span.end()


_schema_token_counts: dict[str, int] = {}


def _schema_tokens(output: OutputSchema | None) -> int:
    """Estimated tokens of the output schema sent with a request, once per schema name."""
    if output is None:
        return 0
    count = _schema_token_counts.get(output.name)
    if count is None:
        count = _schema_token_counts[output.name] = estimate_tokens(json.dumps(output.json_schema))
    return count


def _captured_input(messages: Sequence[Message], redactor: Redactor) -> Mapping[str, str]:
    """The prompt as the GenAI conventions record it, with personal data redacted first."""
    system = [
        {"type": "text", "content": redactor.redact(message.content)}
        for message in messages
        if message.role == "system"
    ]
    conversation = [
        {
            "role": message.role,
            "parts": [{"type": "text", "content": redactor.redact(message.content)}],
        }
        for message in messages
        if message.role != "system"
    ]
    return {
        semconv.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps(system, ensure_ascii=False),
        semconv.GEN_AI_INPUT_MESSAGES: json.dumps(conversation, ensure_ascii=False),
    }


def _captured_output(response: ModelResponse, redactor: Redactor) -> str:
    message = {
        "role": "assistant",
        "parts": [{"type": "text", "content": redactor.redact(response.text)}],
        "finish_reason": response.finish_reason,
    }
    return json.dumps([message], ensure_ascii=False)
