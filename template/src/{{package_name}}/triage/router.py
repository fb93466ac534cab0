"""HTTP routes of the triage feature: one answer, or a stream of server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from ..api.auth import Tenant, require_tenant
from ..api.deadline import request_deadline
from ..api.problems import PROBLEM_RESPONSES, Problem
from ..llm.deadline import Deadline
from ..llm.errors import ModelError
from .schemas import TriageRequest, TriageResponse
from .service import SummaryProgress, TriageService

router = APIRouter(prefix="/v1", tags=["triage"])
log = structlog.get_logger(__name__)

SSE_MEDIA_TYPE = "text/event-stream"


def _service(request: Request) -> TriageService:
    service: TriageService = request.app.state.triage
    return service


@router.post("/triage", responses=PROBLEM_RESPONSES)
async def triage(
    ticket: TriageRequest,
    response: Response,
    service: Annotated[TriageService, Depends(_service)],
    deadline: Annotated[Deadline, Depends(request_deadline)],
    _tenant: Annotated[Tenant, Depends(require_tenant)],
) -> TriageResponse:
    """Classify a support ticket: category, priority, summary, and whether a human should look.

    `X-Model` names the model that answered; `X-Degraded: true` says a fallback did.
    """
    answer = await service.triage(ticket, deadline)
    response.headers["X-Model"] = answer.model
    response.headers["X-Degraded"] = str(answer.degraded).lower()
    return answer


@router.post(
    "/triage/stream",
    responses={
        200: {
            "description": "Server-sent events: `summary` (the summary so far), then `result` "
            "(a TriageResponse) or `error` (a problem document).",
            "content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **PROBLEM_RESPONSES,
    },
    response_class=StreamingResponse,
)
async def triage_stream(
    ticket: TriageRequest,
    request: Request,
    service: Annotated[TriageService, Depends(_service)],
    deadline: Annotated[Deadline, Depends(request_deadline)],
    _tenant: Annotated[Tenant, Depends(require_tenant)],
) -> StreamingResponse:
    """Like `POST /v1/triage`, streamed: the summary as it is written, then the full answer.

    A client that disconnects cancels the upstream model call.
    """
    request_id = getattr(request.state, "request_id", None)
    events = _sse(service.triage_stream(ticket, deadline), request_id, request.url.path)
    return StreamingResponse(
        events, media_type=SSE_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
    )


async def _sse(
    events: AsyncIterator[SummaryProgress | TriageResponse], request_id: str | None, path: str
) -> AsyncIterator[str]:
    try:
        async for event in events:
            if isinstance(event, SummaryProgress):
                yield _event("summary", json.dumps({"summary": event.summary}))
            else:
                yield _event("result", event.model_dump_json())
    except ModelError as exc:
        log.warning("stream_failed", error_type=type(exc).__name__)
        problem = Problem(
            title="Bad Gateway",
            status=502,
            detail="The model stopped before a usable answer was complete.",
            instance=path,
            request_id=request_id,
        )
        yield _event("error", problem.model_dump_json(exclude_none=True))


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"
