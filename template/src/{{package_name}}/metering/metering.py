"""The service's metering, and the observer it hands the fallback chain for each request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from ..costs.budget import NO_RESERVATION, BudgetGate
from ..costs.pricing import PriceBook, to_nano_usd
from ..database.writer import RowWriter
from ..ledger.rows import LedgerRow
from ..llm.observer import Attempt, CallInProgress
from ..llm.port import ModelRequest, Usage
from ..llm.tokens import request_tokens, schema_tokens
from ..redaction import Redactor
from ..telemetry import content, semconv
from ..telemetry.metrics import ServiceMetrics
from ..telemetry.tracing import SpanRecorder
from .call import DEFAULT_MAX_OUTPUT_TOKENS, MeteredCall

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CallContext:
    """Whom the model calls of one request are for: on every row, span, metric and log line."""

    tenant: str
    feature: str
    prompt: str
    request_id: str | None = None
    shadow: bool = False
    """Shadow traffic: recorded as such in the ledger, and not charged to the tenant's budgets."""


@dataclass(frozen=True)
class Metering:
    """What accounting needs, shared by every request; one per application."""

    prices: PriceBook
    budgets: BudgetGate
    ledger: RowWriter
    metrics: ServiceMetrics
    spans: SpanRecorder
    redactor: Redactor
    capture_content: bool
    tenant_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """The providers each tenant brings its own key for: their calls are billed to it."""

    def for_request(self, context: CallContext) -> RequestMetering:
        """The observer to hand the fallback chain for one request."""
        return RequestMetering(self, context)

    def pays_for(self, tenant: str, model: str) -> bool:
        """Whether `tenant`'s own provider key makes calls to `model` (a `provider:model`)."""
        return model.partition(":")[0] in self.tenant_keys.get(tenant, ())

    def cache_hit(self, context: CallContext, model: str, latency_ms: float) -> None:
        """An answer served from the cache: a ledger row at zero cost, and no model call."""
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


class RequestMetering:
    """The `CallObserver` of one request: every call, retry, fallback and skipped model."""

    def __init__(self, metering: Metering, context: CallContext) -> None:
        self.metering = metering
        self.context = context

    async def call_started(
        self, model: str, request: ModelRequest, attempt: Attempt
    ) -> CallInProgress:
        """Reserve the call's maximum cost (may refuse it), then open its client span."""
        metering = self.metering
        context = self.context
        reservation = (
            NO_RESERVATION
            if context.shadow
            else await metering.budgets.reserve(
                context.tenant, context.feature, model, self._max_cost(model, request)
            )
        )
        provider, _, model_name = model.partition(":")
        attributes: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model_name,
            semconv.GEN_AI_OUTPUT_TYPE: "json" if request.output else "text",
            semconv.GEN_AI_PROMPT_NAME: context.prompt.partition("@")[0],
            semconv.APP_PROMPT_VERSION: context.prompt,
            semconv.APP_TENANT: context.tenant,
            semconv.APP_FEATURE: context.feature,
        }
        if context.shadow:
            attributes[semconv.APP_SHADOW] = True
        if request.settings.temperature is not None:
            attributes[semconv.GEN_AI_REQUEST_TEMPERATURE] = request.settings.temperature
        if request.settings.max_output_tokens is not None:
            attributes[semconv.GEN_AI_REQUEST_MAX_TOKENS] = request.settings.max_output_tokens
        if metering.capture_content:
            attributes.update(content.input_attributes(request.messages, metering.redactor))
        span = metering.spans.start(
            f"{semconv.OPERATION_CHAT} {model_name}", SpanKind.CLIENT, attributes
        )
        return MeteredCall(metering, context, model, attempt, span, reservation)

    def _max_cost(self, model: str, request: ModelRequest) -> int:
        """The most this call can cost, in nano-USD; 0 when free or unpriced.

        The input is the messages and the output schema sent with them, estimated at the
        conservative bytes-per-token of `llm.tokens`; the output is the most the prompt allows.
        """
        usage = Usage(
            input_tokens=request_tokens(request.messages) + schema_tokens(request.output),
            output_tokens=request.settings.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS,
        )
        cost = self.metering.prices.cost(model, usage)
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
        self.metering.metrics.retries.add(
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
        self.metering.metrics.fallbacks.add(
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
