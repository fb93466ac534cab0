"""The request's deadline: the service default, or sooner when the client asks for it.

Read from the `X-Request-Timeout` header by hand rather than as a FastAPI header parameter, to
keep dependency resolution off the hot path; `REQUEST_HEADERS` documents it in the OpenAPI
document all the same, and a bad value is the same 422 problem FastAPI would give.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from ..llm.deadline import Deadline

MAX_CLIENT_TIMEOUT_SECONDS = 600.0
HEADER = "x-request-timeout"

TIMEOUT_HEADER_DOCS: dict[str, Any] = {
    "name": "X-Request-Timeout",
    "in": "header",
    "required": False,
    "description": "Seconds the client will wait; the service's default applies if longer.",
    "schema": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": MAX_CLIENT_TIMEOUT_SECONDS,
    },
}


def request_deadline(request: Request) -> Deadline:
    """When this request must be answered by; a 422 problem for a bad `X-Request-Timeout`."""
    default: float = request.app.state.request_timeout_seconds
    raw = request.headers.get(HEADER)
    if raw is None:
        return Deadline.after(default)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_CLIENT_TIMEOUT_SECONDS:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("header", HEADER),
                    "msg": f"must be a number of seconds, over 0 and at most "
                    f"{MAX_CLIENT_TIMEOUT_SECONDS:g}",
                    "input": raw,
                }
            ]
        )
    return Deadline.after(min(default, seconds))
