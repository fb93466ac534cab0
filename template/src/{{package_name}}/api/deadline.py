"""The request's deadline: the service default, or sooner when the client asks for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request

from ..llm.deadline import Deadline

MAX_CLIENT_TIMEOUT_SECONDS = 600.0


async def request_deadline(
    request: Request,
    x_request_timeout: Annotated[
        float | None,
        Header(
            gt=0,
            le=MAX_CLIENT_TIMEOUT_SECONDS,
            description="Seconds the client will wait; the service's default applies if longer.",
        ),
    ] = None,
) -> Deadline:
    """FastAPI dependency: when this request must be answered by."""
    default: float = request.app.state.request_timeout_seconds
    return Deadline.after(min(default, x_request_timeout or default))
