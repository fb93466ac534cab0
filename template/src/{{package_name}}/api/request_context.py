"""Per-request context: an id, a trace span, one access-log line, and the last line of defence.

A plain ASGI middleware (not `BaseHTTPMiddleware`), so it adds microseconds per request. The
request id comes from a well-formed incoming `X-Request-ID` or is generated; it is echoed in
the response header, bound to every log line of the request and put in error bodies. The
request's server span continues an incoming W3C `traceparent` and is made current, so every
model-call span, retry and fallback of the request nests under it; its trace and span ids are
bound to the request's log lines too. `http.server.request.duration` is recorded by route and
status.
"""

from __future__ import annotations

import re
import secrets
import time

import structlog
from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..redaction import Redactor
from ..telemetry import semconv
from ..telemetry.metrics import ServiceMetrics
from ..telemetry.tracing import SpanRecorder
from .problems import problem_response
from .route_template import route_template

REQUEST_ID_HEADER = "x-request-id"
RESPONSE_HEADERS = "response_headers"
"""Key, in the request's scope state, of extra `(name, value)` byte pairs for the response:
inner layers (admission's rate-limit headers) add to it rather than wrapping `send` again."""
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_ID_SEPARATOR = re.compile(r"[._-]")
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})

log = structlog.get_logger(__name__)


class RequestContextMiddleware:
    """Assign a request id and a span, log and measure each request, turn crashes into 500s."""

    def __init__(
        self, app: ASGIApp, spans: SpanRecorder, metrics: ServiceMetrics, redactor: Redactor
    ) -> None:
        self.app = app
        self.spans = spans
        self.redactor = redactor
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, parent = _read_headers(scope, self.redactor)
        method: str = scope["method"]
        span = self.spans.start(
            method,
            SpanKind.SERVER,
            {
                semconv.HTTP_REQUEST_METHOD: method,
                semconv.URL_PATH: self.redactor.redact(scope["path"]),
                semconv.URL_SCHEME: scope["scheme"],
                semconv.APP_REQUEST_ID: request_id,
            },
            parent,
        )
        token = context.attach(trace.set_span_in_context(span))
        span_context = span.get_span_context()
        response_headers = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state[RESPONSE_HEADERS] = response_headers
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id,
            trace_id=format(span_context.trace_id, "032x"),
            span_id=format(span_context.span_id, "016x"),
        )
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *response_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            log.exception("unhandled_error")
            if not response_started:
                response = problem_response(
                    500,
                    request_id=request_id,
                    instance=scope["path"],
                    detail="An internal error occurred. Quote the request id when reporting it.",
                )
                await response(scope, receive, send_with_request_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self._finish(span, method, scope["scheme"], route, status, seconds)
            context.detach(token)
            log.info(
                "request",
                method=method,
                route=route,
                status=status,
                latency_ms=round(seconds * 1000, 2),
            )

    def _finish(
        self,
        span: trace.Span,
        method: str,
        scheme: str,
        route: str | None,
        status: int,
        seconds: float,
    ) -> None:
        attributes: dict[str, str | int] = {
            semconv.HTTP_REQUEST_METHOD: method,
            semconv.URL_SCHEME: scheme,
            semconv.HTTP_RESPONSE_STATUS_CODE: status,
        }
        if route is not None:
            attributes[semconv.HTTP_ROUTE] = route
            span.update_name(f"{method} {route}")
        if status >= 500:
            attributes[semconv.ERROR_TYPE] = str(status)
            span.set_status(Status(StatusCode.ERROR))
        span.set_attributes(attributes)
        span.end()
        self.metrics.http_duration.record(seconds, attributes)


def _read_headers(scope: Scope, redactor: Redactor) -> tuple[str, context.Context]:
    """The request id to use, and the trace context a caller sent, if any.

    A caller's request id is kept only if it is well-formed and carries no personal data: it
    goes on every log line and span of the request.
    """
    request_id: str | None = None
    carrier: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _acceptable_id(candidate, redactor):
                request_id = candidate
        elif name in _TRACE_HEADERS:
            carrier[name.decode("latin-1")] = value.decode("latin-1")
    parent = propagate.extract(carrier) if carrier else context.Context()
    return request_id or secrets.token_hex(16), parent


def _acceptable_id(candidate: str, redactor: Redactor) -> bool:
    """Whether a caller's request id is well-formed and holds no value the redactor removes,
    whole or from any `.`, `_` or `-` on: the redactor looks for values at word starts, and
    `ref-4539673332974076` glues a card number to a word."""
    if not _VALID_REQUEST_ID.match(candidate):
        return False
    starts = [0, *(separator.end() for separator in _ID_SEPARATOR.finditer(candidate))]
    return all(redactor.redact(candidate[start:]) == candidate[start:] for start in starts)
