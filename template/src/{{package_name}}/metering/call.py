"""One model call in flight, and the bookkeeping done once it ends."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog
from opentelemetry.trace import Span, Status, StatusCode

from ..costs.budget import Reservation
from ..costs.pricing import to_nano_usd
from ..ledger.rows import LedgerRow
from ..llm.observer import Attempt, Outcome
from ..llm.port import ModelResponse, Usage
from ..telemetry import content, semconv

if TYPE_CHECKING:
    from .metering import CallContext, Metering

log = structlog.get_logger(__name__)

DEFAULT_MAX_OUTPUT_TOKENS = 4096
"""Assumed for the worst case when a prompt sets no `max_output_tokens`."""


class MeteredCall:
    """A started model call; `finished` prices it, settles its budgets, writes its ledger row,
    records its metrics, ends its span and logs its `model_call` line, all at once."""

    def __init__(
        self,
        metering: Metering,
        context: CallContext,
        model: str,
        attempt: Attempt,
        span: Span,
        reservation: Reservation,
    ) -> None:
        self._metering = metering
        self._context = context
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
        latency_ms = round(seconds * 1000, 2)
        usage = response.usage if response is not None else Usage()
        cost = self._cost(response, outcome)
        cost_nano = to_nano_usd(cost) if cost is not None else None
        if outcome == "cancelled":
            error_type = "cancelled"
        self._metering.budgets.settle(self._reservation, cost_nano)
        tenant_key = self._metering.pays_for(self._context.tenant, self._model)
        self._metering.ledger.record(
            LedgerRow(
                occurred_at=dt.datetime.now(dt.UTC),
                request_id=self._context.request_id,
                tenant=self._context.tenant,
                feature=self._context.feature,
                prompt_version=self._context.prompt,
                model=self._model,
                response_model=response.model if response is not None else None,
                outcome=outcome,
                error_type=error_type,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                cost_nano_usd=cost_nano,
                latency_ms=latency_ms,
                shadow=self._context.shadow,
                tenant_key=tenant_key,
                usage_estimated=usage.estimated,
            )
        )
        self._record_metrics(response, seconds, cost, error_type)
        self._end_span(response, usage, cost, error_type)
        log.info(
            "model_call",
            model=self._model,
            response_model=response.model if response is not None else None,
            prompt_version=self._context.prompt,
            feature=self._context.feature,
            attempt=self._attempt,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            usage_estimated=usage.estimated,
            cost_usd=str(cost) if cost is not None else None,
            latency_ms=latency_ms,
            first_token_ms=first_token_ms,
            outcome=outcome,
            finish_reason=response.finish_reason if response is not None else None,
            error_type=error_type,
            shadow=self._context.shadow,
            tenant_key=tenant_key,
            span_id=format(self._span.get_span_context().span_id, "016x"),
        )

    def _cost(self, response: ModelResponse | None, outcome: Outcome) -> Decimal | None:
        """Priced from its usage (estimated when the provider reported none); a failed call is
        not billed; a cut-off one is unknown."""
        if response is not None:
            return self._metering.prices.cost(self._model, response.usage)
        return None if outcome == "cancelled" else Decimal(0)

    def _record_metrics(
        self,
        response: ModelResponse | None,
        seconds: float,
        cost: Decimal | None,
        error_type: str | None,
    ) -> None:
        metrics = self._metering.metrics
        provider, _, model_name = self._model.partition(":")
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model_name,
        }
        if response is not None:
            attributes[semconv.GEN_AI_RESPONSE_MODEL] = response.model.partition(":")[2]
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
        owner: dict[str, str | bool] = {
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model_name,
            semconv.APP_TENANT: self._context.tenant,
            semconv.APP_FEATURE: self._context.feature,
        }
        if self._context.shadow:
            owner[semconv.APP_SHADOW] = True  # spend on a candidate, not on the tenant's traffic
        if cost is None:
            # error.type "cancelled": cut off before the usage was known, not a missing price.
            unpriced = {**owner, semconv.ERROR_TYPE: error_type} if error_type else owner
            metrics.unpriced_calls.add(1, unpriced)
        elif cost > 0:
            metrics.cost.add(float(cost), owner)

    def _end_span(
        self,
        response: ModelResponse | None,
        usage: Usage,
        cost: Decimal | None,
        error_type: str | None,
    ) -> None:
        span = self._span
        if response is not None:
            span.set_attributes(
                {
                    semconv.GEN_AI_RESPONSE_MODEL: response.model.partition(":")[2],
                    semconv.GEN_AI_RESPONSE_FINISH_REASONS: (response.finish_reason,),
                    semconv.GEN_AI_USAGE_INPUT_TOKENS: usage.input_tokens,
                    semconv.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
                    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.cached_input_tokens,
                    semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: usage.cache_write_tokens,
                    semconv.APP_USAGE_ESTIMATED: usage.estimated,
                }
            )
            if self._metering.capture_content:
                span.set_attribute(
                    semconv.GEN_AI_OUTPUT_MESSAGES,
                    content.output_attribute(response, self._metering.redactor),
                )
        span.set_attribute(semconv.APP_PRICED, cost is not None)
        if cost is not None:
            span.set_attribute(semconv.APP_COST_USD, float(cost))
        if error_type is not None:
            span.set_attribute(semconv.ERROR_TYPE, error_type)
            span.set_status(Status(StatusCode.ERROR))
        span.end()
