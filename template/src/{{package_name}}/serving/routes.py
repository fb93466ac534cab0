"""Each feature's HTTP routes: `POST /v1/<name>` for one answer, `/v1/<name>/stream` for
server-sent events. Built from the feature's declaration; no feature writes a route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

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
from ..feature import Feature
from ..guardrails.output import OutputBlockedError
from ..llm.errors import EveryModelRefusedError, ModelError
from .answers import answered
from .service import FeatureService
from .streaming import Progress

log = structlog.get_logger(__name__)

SSE_MEDIA_TYPE = "text/event-stream"

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

ANSWER_DOCS = """

`X-Model` names the model that answered; `X-Degraded: true` says a fallback did;
`"cached": true` says the answer was reused from an identical earlier request.
Personal data in the answer's text is redacted. An answer that fails the output checks, or
comes after a model declined, is the classical model's, degraded and flagged `needs_human`;
a 422 problem says every model declined, or that no answer passed the checks.
"""

STREAM_DOCS = """

Like the JSON route, streamed: `{field}` as it is written, then the full answer.
A client that disconnects cancels the upstream model call. Streams are never cached.
"""


def feature_router(feature: Feature) -> APIRouter:
    """The routes of `feature`, answered by the service in `app.state.features`."""
    router = APIRouter(prefix="/v1", tags=[feature.name])
    router.add_api_route(
        feature.path,
        _with_body(_answer_endpoint(feature.name), feature.request),
        methods=["POST"],
        name=feature.name,
        summary=feature.summary,
        description=feature.summary + ANSWER_DOCS,
        response_model=feature.response,
        responses=PROBLEM_RESPONSES,
        openapi_extra={"parameters": [TIMEOUT_HEADER_DOCS, CACHE_CONTROL_DOCS]},
    )
    router.add_api_route(
        f"{feature.path}/stream",
        _with_body(_stream_endpoint(feature.name), feature.request),
        methods=["POST"],
        name=f"{feature.name}_stream",
        summary=f"{feature.summary} Streamed.",
        description=feature.summary + STREAM_DOCS.format(field=feature.streamed),
        responses={
            200: {
                "description": f"Server-sent events: `{feature.streamed}` (the text so far), "
                f"then `result` (a {feature.response.__name__}) or `error` (a problem document).",
                "content": {SSE_MEDIA_TYPE: {"schema": _event_schema(feature)}},
            },
            **PROBLEM_RESPONSES,
        },
        response_class=StreamingResponse,
        openapi_extra={"parameters": [TIMEOUT_HEADER_DOCS]},
    )
    return router


Endpoint = Callable[[Any, Request], Awaitable[Response]]


def _with_body(endpoint: Endpoint, body: type[BaseModel]) -> Endpoint:
    """`endpoint` with its body typed as the feature's request, for validation and OpenAPI."""
    endpoint.__annotations__ = {"body": body, "request": Request, "return": Response}
    return endpoint


def _answer_endpoint(name: str) -> Endpoint:
    async def answer(body: Any, request: Request) -> Response:
        caller = require_scope(request, "predict")
        service: FeatureService = request.app.state.features[name]
        response = await service.answer(
            body,
            request_deadline(request),
            tenant=caller.tenant,
            request_id=request.state.request_id,
            cache_mode=cache_mode(request.headers.get("cache-control")),
        )
        meta = answered(response)
        return Response(
            response.model_dump_json(),
            media_type="application/json",
            headers={"X-Model": meta.model, "X-Degraded": str(meta.degraded).lower()},
        )

    return answer


def _stream_endpoint(name: str) -> Endpoint:
    async def stream(body: Any, request: Request) -> Response:
        caller = require_scope(request, "predict")
        service: FeatureService = request.app.state.features[name]
        request_id: str = request.state.request_id
        answers = await service.answer_stream(
            body, request_deadline(request), tenant=caller.tenant, request_id=request_id
        )
        return StreamingResponse(
            _sse(answers, request_id, request.url.path),
            media_type=SSE_MEDIA_TYPE,
            headers={"Cache-Control": "no-store"},
        )

    return stream


def _event_schema(feature: Feature) -> dict[str, Any]:
    """One event of the stream (OpenAPI 3.1 has no `itemSchema`: tools read `schema` per
    event)."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": [feature.streamed, "result", "error"]},
            "data": {"type": "string", "description": "A JSON document."},
        },
    }


async def _sse(
    events: AsyncIterator[Progress | BaseModel], request_id: str | None, path: str
) -> AsyncIterator[str]:
    try:
        async for event in events:
            if isinstance(event, Progress):
                yield _event(event.field, json.dumps({event.field: event.text}))
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
