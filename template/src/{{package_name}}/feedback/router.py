"""`POST /v1/feedback`: a client rates an answer it was given, and may say what was right."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from ..api.admission import require_scope
from ..api.problems import problem_responses
from ..review.corrections import Comment, CorrectionBody, checked_correction, served_feature
from .rows import FeedbackRow, Rating
from .store import answered_feature, save

router = APIRouter(prefix="/v1", tags=["feedback"])

UNKNOWN_ANSWER = "No answer with this request id was given to your tenant."
"""The same for an id never seen and another tenant's: whether an id exists is not revealed."""


class FeedbackRequest(BaseModel):
    """A rating of one answer, named by the request id it was given under."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: Annotated[
        str,
        Field(min_length=1, max_length=128, description="The `X-Request-ID` of the answer rated."),
    ]
    rating: Rating
    correction: CorrectionBody | None = None
    comment: Comment | None = None


class Feedback(FeedbackRequest):
    """Feedback as stored."""

    id: int
    created_at: dt.datetime


@router.post(
    "/feedback",
    status_code=201,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 500),
)
async def post_feedback(body: FeedbackRequest, request: Request) -> Feedback:
    """Rate an answer your tenant was given: `up` or `down`, with an optional correction.

    Corrections become eval cases (`review export`), so the next prompt or model is tested
    against what your users said was right.
    """
    caller = require_scope(request, "feedback")
    engine = request.app.state.database
    services = request.app.state.features
    feature = await answered_feature(
        engine, request.app.state.writer, caller.tenant, body.request_id
    )
    if feature is None:
        raise HTTPException(404, UNKNOWN_ANSWER)
    correction = (
        checked_correction(
            served_feature(services, feature),
            body.correction,
            [service.feature for service in services.values()],
        )
        if body.correction is not None
        else None
    )
    row = FeedbackRow(
        created_at=dt.datetime.now(dt.UTC),
        request_id=body.request_id,
        tenant=caller.tenant,
        key_id=caller.key_id,
        rating=body.rating,
        correction=correction,
        comment=body.comment,
    )
    feedback_id = await save(engine, row)
    return Feedback(
        id=feedback_id,
        created_at=row.created_at,
        request_id=body.request_id,
        rating=body.rating,
        correction=correction,
        comment=body.comment,
    )
