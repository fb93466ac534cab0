"""`/v1/reviews`: reviewers work through their tenant's answers flagged for a human.

Reviewers hold keys with the `review` scope; they see and decide only their own tenant's
answers. Each decision is a correction, which `review export` turns into an eval case.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..api.admission import require_scope
from ..api.problems import problem_responses
from .corrections import Comment, CorrectionBody, served_feature
from .queue import NotPendingError, Review, resolve, reviews
from .rows import ReviewStatus

MAX_CURSOR = 2**63 - 1
"""Row ids are 64-bit: a larger cursor cannot name a row, and the database would refuse it."""

router = APIRouter(prefix="/v1", tags=["review"])

MAX_PAGE = 200

Queue = Literal["pending", "resolved"]
"""What a reviewer lists: the queue itself, or the decisions made."""


class ReviewItem(BaseModel):
    """An answer as the reviewer sees it: the request, the model's answer, and any decision."""

    request_id: str
    feature: str
    created_at: dt.datetime
    inputs: dict[str, Any]
    output: dict[str, Any]
    confidence: float | None
    prompt_version: str
    model: str
    review_status: ReviewStatus
    reviewed_by: Annotated[str | None, Field(description="The key id of the reviewer.")]
    reviewed_at: dt.datetime | None
    correction: dict[str, Any] | None


class ReviewPage(BaseModel):
    """One page of the queue, oldest first."""

    items: list[ReviewItem]
    next_cursor: Annotated[
        int | None, Field(description="Pass as `cursor` for the next page; null on the last.")
    ]


class Decision(BaseModel):
    """A reviewer's correction of a flagged answer (the right labels, even if unchanged)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    correction: CorrectionBody
    comment: Comment | None = None


@router.get("/reviews", responses=problem_responses(401, 403, 422, 429, 500))
async def list_reviews(
    request: Request,
    status: Annotated[
        Queue, Query(description="`pending` (the queue) or `resolved` (decisions).")
    ] = "pending",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[
        int | None, Query(ge=0, le=MAX_CURSOR, description="The previous page's `next_cursor`.")
    ] = None,
) -> ReviewPage:
    """Your tenant's answers flagged for review, oldest first.

    Answers of the last second may not be listed yet: they are written in the background.
    """
    tenant = require_scope(request, "review").tenant
    found = await reviews(request.app.state.database, tenant, status, limit=limit, after=cursor)
    last = found[-1].position if len(found) == limit else None
    return ReviewPage(items=[_item(review) for review in found], next_cursor=last)


@router.post(
    "/reviews/{request_id}",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 500),
)
async def resolve_review(request_id: str, decision: Decision, request: Request) -> ReviewItem:
    """Resolve a flagged answer with the correct labels; the decision joins the audit trail.

    An answer already resolved (by you or another reviewer) gets a 409 problem naming who.
    """
    caller = require_scope(request, "review")
    try:
        review = await resolve(
            request.app.state.database,
            caller.tenant,
            request_id,
            reviewer=caller.key_id,
            correction=decision.correction,
            feature_of=partial(served_feature, request.app.state.features),
            features=[service.feature for service in request.app.state.features.values()],
            comment=decision.comment,
        )
    except NotPendingError as exc:
        raise HTTPException(409, _conflict(exc.review)) from exc
    if review is None:
        raise HTTPException(404, "No answer with this request id was given to your tenant.")
    return _item(review)


def _conflict(review: Review) -> str:
    if review.status == "resolved":
        return f"This answer was already resolved, by {review.reviewed_by} at {review.reviewed_at}."
    return "This answer was not flagged for review."


def _item(review: Review) -> ReviewItem:
    return ReviewItem(
        request_id=review.request_id,
        feature=review.feature,
        created_at=review.created_at,
        inputs=review.inputs,
        output=review.output,
        confidence=review.confidence,
        prompt_version=review.prompt_version,
        model=review.model,
        review_status=review.status,
        reviewed_by=review.reviewed_by,
        reviewed_at=review.reviewed_at,
        correction=review.correction,
    )
