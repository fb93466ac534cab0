"""HTTP routes of the triage feature: one answer, or a stream of server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from ..api.admission import require_scope
from ..api.deadline import TIMEOUT_HEADER_DOCS, request_deadline
from ..api.problems import (
    PROBLEM_RESPONSES,
    REFUSED_DETAIL,
    WITHHELD_DETAIL,
    LimitKind,
    RefusalReason,
    budget_refusal,
    problem_document,
)
from ..cache import cache_mode
from ..costs.budget import BudgetExceededError, BudgetHeldError, BudgetUnavailableError
from ..guardrails.output import OutputBlockedError
from ..llm.errors import EveryModelRefusedError, ModelError
from .schemas import TriageRequest, TriageResponse
from .service import TriageService
from .streaming import SummaryProgress

router = APIRouter(prefix="/v1", tags=["triage"])
log = structlog.get_logger(__name__)

SSE_MEDIA_TYPE = "text/event-stream"
SSE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["summary", "result", "error"]},
        "data": {"type": "string", "description": "A JSON document."},
    },
}
"""One event of the stream (OpenAPI 3.1 has no `itemSchema`: tools read `schema` per event)."""

CACHE_CONTROL_DOCS = {
    "name": "Cache-Control",
    "in": "header",
    "required": False,
    "description": "`no-cache` skips the cached answer (and stores the fresh one); "
    "`no-store` neither reads nor stores one.",
    "schema": {"type": "string"},
}
# Headers are read from the request by hand (no per-request dependency resolution) and
# documented here for the OpenAPI document.


@router.post(
    "/triage",
    response_model=TriageResponse,
    responses=PROBLEM_RESPONSES,
    openapi_extra={"parameters": [TIMEOUT_HEADER_DOCS, CACHE_CONTROL_DOCS]},
)
async def triage(ticket: TriageRequest, request: Request) -> Response:
    """Classify a support ticket: category, priority, summary, and whether a human should look.

    `X-Model` names the model that answered; `X-Degraded: true` says a fallback did;
    `"cached": true` says the answer was reused from an identical earlier request.
    Personal data in the summary is redacted. An answer that fails the output checks, or comes
    after a model declined, is the classical model's, degraded and flagged `needs_human`; a 422
    problem says every model declined, or that no answer passed the checks.
    """
    caller = require_scope(request, "predict")
    service: TriageService = request.app.state.triage
    answer = await service.triage(
        ticket,
        request_deadline(request),
        tenant=caller.tenant,
        request_id=request.state.request_id,
        cache_mode=cache_mode(request.headers.get("cache-control")),
    )
    return Response(
        answer.model_dump_json(),
        media_type="application/json",
        headers={"X-Model": answer.model, "X-Degraded": str(answer.degraded).lower()},
    )


@router.post(
    "/triage/stream",
    responses={
        200: {
            "description": "Server-sent events: `summary` (the summary so far), then `result` "
            "(a TriageResponse) or `error` (a problem document).",
            "content": {SSE_MEDIA_TYPE: {"schema": SSE_EVENT_SCHEMA}},
        },
        **PROBLEM_RESPONSES,
    },
    response_class=StreamingResponse,
    openapi_extra={"parameters": [TIMEOUT_HEADER_DOCS]},
)
async def triage_stream(ticket: TriageRequest, request: Request) -> StreamingResponse:
    """Like `POST /v1/triage`, streamed: the summary as it is written, then the full answer.

    A client that disconnects cancels the upstream model call. Streams are never cached.
    """
    caller = require_scope(request, "predict")
    service: TriageService = request.app.state.triage
    request_id: str = request.state.request_id
    answers = await service.triage_stream(
        ticket, request_deadline(request), tenant=caller.tenant, request_id=request_id
    )
    return StreamingResponse(
        _sse(answers, request_id, request.url.path),
        media_type=SSE_MEDIA_TYPE,
        headers={"Cache-Control": "no-store"},
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
    except (EveryModelRefusedError, OutputBlockedError) as exc:
        log.warning("stream_failed", error_type=type(exc).__name__)
        if isinstance(exc, EveryModelRefusedError):
            yield _problem(422, REFUSED_DETAIL, request_id, path, reason="model_declined")
        else:
            yield _problem(422, WITHHELD_DETAIL, request_id, path, reason="answer_withheld")
    except ModelError as exc:
        log.warning("stream_failed", error_type=type(exc).__name__)
        detail = "The model stopped before a usable answer was complete."
        yield _problem(502, detail, request_id, path)
    except (BudgetExceededError, BudgetHeldError) as exc:
        log.warning("stream_failed", error_type=type(exc).__name__)
        detail, reason = budget_refusal(exc)
        yield _problem(429, detail, request_id, path, limit="budget", reason=reason)
    except BudgetUnavailableError as exc:
        log.warning("stream_failed", error_type=type(exc).__name__)
        detail = "Budgets cannot be checked right now. Retry shortly."
        yield _problem(503, detail, request_id, path, limit="budget")


def _problem(
    status: int,
    detail: str,
    request_id: str | None,
    path: str,
    *,
    limit: LimitKind | None = None,
    reason: RefusalReason | None = None,
) -> str:
    problem = problem_document(
        status, request_id=request_id, instance=path, detail=detail, limit=limit, reason=reason
    )
    return _event("error", problem.model_dump_json(exclude_none=True))


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"
