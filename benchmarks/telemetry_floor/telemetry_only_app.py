"""The bare endpoint plus the service's own telemetry, and nothing else.

Copied into a generated project's `benchmarks/` package by `telemetry_floor.py`. It serves the
bare app's triage endpoint behind the service's `RequestContextMiddleware` (request id, server
span, `request` log line, `http.server.request.duration`), and wraps the model call in what the
service records for every call: the `chat {model}` client span with the same attributes, the
token-usage and operation-duration histograms and the `model_call` log line, with the
service's JSON logs and redaction. No authentication, limits, budgets, ledger, cache, flags or
guardrails: what it costs is the telemetry issue #4 asks for, as the service implements it.

Parts are switched off the way an operator would: `OTEL_METRICS_EXPORTER=none` (no metric
reader), `OTEL_TRACES_EXPORTER=none` (no span processor, so spans are not recorded) and
`FLOOR_LOG_LEVEL=warning` (no per-request lines).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from ai_service.api.request_context import RequestContextMiddleware
from ai_service.features.triage import FEATURE as TRIAGE
from ai_service.features.triage.schemas import TriageRequest, TriageResult
from ai_service.llm.port import ModelRequest
from ai_service.logs import configure_logging
from ai_service.redaction import Redactor
from ai_service.telemetry import semconv
from ai_service.telemetry.metrics import ServiceMetrics
from ai_service.telemetry.setup import configure_telemetry
from fastapi import FastAPI, Response
from opentelemetry.trace import SpanKind

from .bare_app import MODEL as CLASSICAL
from .bare_endpoint import JSON, PROMPT
from .service import CLASSICAL_MODEL as MODEL
from .workload import PROMPT_NAME, TRIAGE_PATH

telemetry = configure_telemetry("ai-service", "telemetry-floor")
metrics = ServiceMetrics(telemetry.meter)
redactor = Redactor([os.environ["FLOOR_API_KEY"]])
configure_logging(os.environ.get("FLOOR_LOG_LEVEL", "info"), "json", redactor)
log = structlog.get_logger("telemetry_floor")
PROVIDER, _, MODEL_NAME = MODEL.partition(":")
CALL_ATTRIBUTES = {
    semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
    semconv.GEN_AI_PROVIDER_NAME: PROVIDER,
    semconv.GEN_AI_REQUEST_MODEL: MODEL_NAME,
}
SPAN_ATTRIBUTES = {
    **CALL_ATTRIBUTES,
    semconv.GEN_AI_OUTPUT_TYPE: "json",
    semconv.GEN_AI_PROMPT_NAME: PROMPT_NAME,
    semconv.APP_PROMPT_VERSION: PROMPT.ref,
    semconv.APP_TENANT: "bench",
    semconv.APP_FEATURE: "triage",
    **{
        name: value
        for name, value in (
            (semconv.GEN_AI_REQUEST_TEMPERATURE, PROMPT.settings.temperature),
            (semconv.GEN_AI_REQUEST_MAX_TOKENS, PROMPT.settings.max_output_tokens),
        )
        if value is not None
    },
}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Export the last spans and metrics on the way out, as the service does."""
    yield
    telemetry.shutdown()


api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)


@api.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


@api.post(TRIAGE_PATH)
async def triage(ticket: TriageRequest) -> Response:
    variables = {"subject": ticket.subject, "body": ticket.body}
    request = ModelRequest(
        messages=PROMPT.render(variables),
        output=TRIAGE.output,
        settings=PROMPT.settings,
        inputs=variables,
    )
    span = telemetry.spans.start(
        f"{semconv.OPERATION_CHAT} {MODEL_NAME}",
        SpanKind.CLIENT,
        dict(SPAN_ATTRIBUTES),
    )
    started = time.perf_counter()
    answer = await CLASSICAL.complete(request)
    seconds = time.perf_counter() - started
    usage = answer.usage
    span.set_attributes(
        {
            semconv.GEN_AI_RESPONSE_MODEL: answer.model.partition(":")[2],
            semconv.GEN_AI_RESPONSE_FINISH_REASONS: (answer.finish_reason,),
            semconv.GEN_AI_USAGE_INPUT_TOKENS: usage.input_tokens,
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS: usage.output_tokens,
            semconv.APP_PRICED: True,
            semconv.APP_COST_USD: 0.0,
        }
    )
    span.end()
    attributes = {**CALL_ATTRIBUTES, semconv.GEN_AI_RESPONSE_MODEL: MODEL_NAME}
    input_type = {**attributes, semconv.GEN_AI_TOKEN_TYPE: "input"}
    output_type = {**attributes, semconv.GEN_AI_TOKEN_TYPE: "output"}
    metrics.token_usage.record(usage.input_tokens, input_type)
    metrics.token_usage.record(usage.output_tokens, output_type)
    metrics.operation_duration.record(seconds, attributes)
    log.info(
        "model_call",
        model=MODEL,
        response_model=answer.model,
        prompt_version=PROMPT.ref,
        feature="triage",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd="0",
        latency_ms=round(seconds * 1000, 2),
        outcome="ok",
        finish_reason=answer.finish_reason,
        span_id=format(span.get_span_context().span_id, "016x"),
    )
    result = TriageResult.model_validate_json(answer.text)
    return Response(result.model_dump_json(), media_type=JSON)


app = RequestContextMiddleware(api, telemetry.spans, metrics, redactor)
