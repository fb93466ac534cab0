"""Per-request context: an id, one access-log line, and the last line of defence for errors.

A plain ASGI middleware (not `BaseHTTPMiddleware`) so it adds almost nothing per request. The
request id comes from a well-formed incoming `X-Request-ID` or is generated; it is echoed in the
response header, bound to every log line of the request and put in error bodies.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

log = structlog.get_logger(__name__)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    """Assign a request id, log one line per request, turn crashes into a bare 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        started = time.perf_counter()
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
            route = scope.get("route")
            log.info(
                "request",
                method=scope["method"],
                route=getattr(route, "path", None),
                status=status,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
            )
