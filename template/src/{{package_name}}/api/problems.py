"""Errors as RFC 9457 `application/problem+json`.

Client faults (4xx) say precisely what to fix, down to the field. Server faults (5xx) say only
what happened and the request id to quote: never a stack trace, exception text or input value.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from ..costs.budget import BudgetExceededError, BudgetHeldError, BudgetUnavailableError
from ..flags.features import FeatureDisabledError
from ..guardrails.injection_policy import InjectionBlockedError
from ..guardrails.output import OutputBlockedError
from ..llm.errors import EveryModelRefusedError, NoModelAvailableError
from ..rate_limits import ExceedsQuotaError, RateLimitedError
from ..review.corrections import CorrectionConflictError, CorrectionInvalidError

MEDIA_TYPE = "application/problem+json"
LimitKind = Literal["requests", "tokens", "budget", "auth_failures"]
"""Which limit a 429 problem is about."""
RefusalReason = Literal[
    "model_declined", "answer_withheld", "prompt_injection", "budget_spent", "budget_held"
]
"""Why a well-formed request was refused: on a 422 (an invalid one lists `errors` instead), or
on a budget's 429: spent until its window resets, or its rest held by calls in flight."""
MODEL_RETRY_AFTER_SECONDS = 10
INJECTION_DETAIL = (
    "The request was refused: its text reads as instructions to the model (prompt injection). "
    "Rephrase it without instructions addressed to the model."
)
"""The detail of a request the prompt-injection policy blocks; it never quotes the text."""
NOT_JSON_DETAIL = "Send the request body as JSON, with `Content-Type: application/json`."
REFUSED_DETAIL = "Every model declined to answer this request; sending it again will not help."
WITHHELD_DETAIL = "No answer to this request passed the output checks; a person should handle it."


class FieldError(BaseModel):
    """One invalid field: where it is and what is wrong with it."""

    location: str
    pointer: str
    detail: str
    type: str


class Problem(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    limit: LimitKind | None = None
    """On a 429: which limit was reached."""
    reason: RefusalReason | None = None
    """On a 422 for a well-formed request or a budget's 429: why, for clients to act on."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of a route's problem responses, one per status."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "model": Problem,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


PROBLEM_RESPONSES = problem_responses(400, 401, 413, 422, 429, 500, 503)
"""OpenAPI documentation of the problems a model-backed route can return."""


def problem_document(
    status: int,
    *,
    request_id: str | None,
    instance: str | None,
    detail: str | None = None,
    errors: Sequence[FieldError] | None = None,
    limit: LimitKind | None = None,
    reason: RefusalReason | None = None,
) -> Problem:
    """The problem for `status`; also sent as the `error` event of a failed stream."""
    return Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=list(errors) if errors is not None else None,
        limit=limit,
        reason=reason,
    )


def problem_response(
    status: int,
    *,
    request_id: str | None,
    instance: str | None,
    detail: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    limit: LimitKind | None = None,
    reason: RefusalReason | None = None,
) -> JSONResponse:
    """Build a problem response; `title` is always the standard reason phrase."""
    problem = problem_document(
        status,
        request_id=request_id,
        instance=instance,
        detail=detail,
        errors=errors,
        limit=limit,
        reason=reason,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _from_request(request: Request, status: int, **kwargs: Any) -> JSONResponse:
    return problem_response(
        status,
        request_id=getattr(request.state, "request_id", None),
        instance=request.url.path,
        **kwargs,
    )


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else None
    return _from_request(request, exc.status_code, detail=detail, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    raw: Sequence[Mapping[str, Any]] = exc.errors()
    if any(error["type"] == "json_invalid" for error in raw):
        return _from_request(request, 400, detail="The request body is not valid JSON.")
    if _not_sent_as_json(request, raw):
        return _from_request(request, 415, detail=NOT_JSON_DETAIL)
    return _invalid_fields(request, raw)


def _invalid_fields(request: Request, raw: Sequence[Mapping[str, Any]]) -> JSONResponse:
    errors = [_field_error(error) for error in raw]
    return _from_request(
        request, 422, detail="The request has invalid or missing fields.", errors=errors
    )


def _not_sent_as_json(request: Request, errors: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the body is refused for its media type, not its fields: it was declared as
    something other than JSON, or reached validation as raw bytes, which is how FastAPI passes on
    a body it did not parse (it parses only JSON media types, and no undeclared body)."""
    body_errors = [error for error in errors if tuple(error["loc"][:1]) == ("body",)]
    declared = request.headers.get("content-type")
    return bool(body_errors) and (
        (declared is not None and not _is_json_media_type(declared))
        or any(isinstance(error.get("input"), bytes) for error in body_errors)
    )


def _is_json_media_type(content_type: str) -> bool:
    """`application/json` or `application/*+json`, whatever the parameters (a `charset`)."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _field_error(error: Mapping[str, Any]) -> FieldError:
    location, *path = [str(part) for part in error["loc"]] or ["body"]
    return FieldError(
        location=location,
        pointer="#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path),
        detail=str(error["msg"]),
        type=str(error["type"]),
    )


async def _no_model_available(request: Request, exc: NoModelAvailableError) -> JSONResponse:
    return _from_request(
        request,
        503,
        detail="No model could answer right now. Retry later.",
        headers={"Retry-After": str(MODEL_RETRY_AFTER_SECONDS)},
    )


async def _every_model_refused(request: Request, exc: EveryModelRefusedError) -> JSONResponse:
    return _from_request(request, 422, detail=REFUSED_DETAIL, reason="model_declined")


async def _output_blocked(request: Request, exc: OutputBlockedError) -> JSONResponse:
    return _from_request(request, 422, detail=WITHHELD_DETAIL, reason="answer_withheld")


async def _injection_blocked(request: Request, exc: InjectionBlockedError) -> JSONResponse:
    return _from_request(request, 422, detail=INJECTION_DETAIL, reason="prompt_injection")


async def _correction_conflict(request: Request, exc: CorrectionConflictError) -> JSONResponse:
    return _from_request(request, 409, detail=str(exc))


async def _correction_invalid(request: Request, exc: CorrectionInvalidError) -> JSONResponse:
    return _invalid_fields(request, exc.errors)


async def _feature_disabled(request: Request, exc: FeatureDisabledError) -> JSONResponse:
    return _from_request(request, 503, detail=f"The {exc.feature} feature is switched off.")


async def _rate_limited(request: Request, exc: RateLimitedError) -> JSONResponse:
    headers = {"Retry-After": str(exc.state.reset_seconds), **exc.state.headers()}
    return _from_request(request, 429, detail=exc.detail, headers=headers, limit=exc.state.name)


async def _exceeds_quota(request: Request, exc: ExceedsQuotaError) -> JSONResponse:
    return _from_request(
        request, 413, detail=exc.detail, headers=exc.state.headers(), limit=exc.state.name
    )


async def _budget_unavailable(request: Request, exc: BudgetUnavailableError) -> JSONResponse:
    return _from_request(
        request,
        503,
        detail="Budgets cannot be checked right now. Retry shortly.",
        headers={"Retry-After": str(exc.retry_after)},
        limit="budget",
    )


def budget_refusal(exc: BudgetExceededError | BudgetHeldError) -> tuple[str, RefusalReason]:
    """The detail and reason of a budget's 429: spent until its window resets, or its rest held
    by calls in flight for a few seconds."""
    if isinstance(exc, BudgetExceededError):
        spent = exc.budget.describe.capitalize()
        return f"{spent} is spent; it resets at the start of the next period.", "budget_spent"
    detail = (
        f"The rest of {exc.budget.describe} is held by calls in flight; "
        f"retry in {exc.retry_after} seconds, once they have settled."
    )
    return detail, "budget_held"


async def _budget_refused(
    request: Request, exc: BudgetExceededError | BudgetHeldError
) -> JSONResponse:
    detail, reason = budget_refusal(exc)
    headers = {"Retry-After": str(exc.retry_after)}
    return _from_request(
        request, 429, detail=detail, headers=headers, limit="budget", reason=reason
    )


ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]

PROBLEM_HANDLERS: Mapping[int | type[Exception], ExceptionHandler] = {
    HTTPException: _http_error,
    RequestValidationError: _validation_error,
    NoModelAvailableError: _no_model_available,
    EveryModelRefusedError: _every_model_refused,
    OutputBlockedError: _output_blocked,
    InjectionBlockedError: _injection_blocked,
    FeatureDisabledError: _feature_disabled,
    RateLimitedError: _rate_limited,
    ExceedsQuotaError: _exceeds_quota,
    BudgetExceededError: _budget_refused,
    BudgetHeldError: _budget_refused,
    BudgetUnavailableError: _budget_unavailable,
    CorrectionConflictError: _correction_conflict,
    CorrectionInvalidError: _correction_invalid,
}
"""Exception handlers that render every handled error as a problem document."""
