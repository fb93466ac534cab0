"""The review queue: answers flagged for a human, oldest first, and the decisions on them.

A decision is one conditional UPDATE (`WHERE review_status = 'pending'`): when two reviewers
race for the same answer exactly one wins, and the other learns who did. The decision and its
audit entry commit in one transaction, so there is never one without the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, Select, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..audit import AuditEvent, append
from ..database.tables import answers
from ..database.times import utc
from ..feature import Feature
from .corrections import checked_correction
from .rows import ReviewStatus

REVIEW_RESOLVED = "review.resolved"
"""The audit action of a review decision."""

_COLUMNS = (
    answers.c.id,
    answers.c.request_id,
    answers.c.feature,
    answers.c.created_at,
    answers.c.inputs,
    answers.c.output,
    answers.c.confidence,
    answers.c.prompt_version,
    answers.c.model,
    answers.c.review_status,
    answers.c.reviewed_by,
    answers.c.reviewed_at,
    answers.c.correction,
)


@dataclass(frozen=True, slots=True)
class Review:
    """An answer in the queue, and the decision on it once there is one."""

    position: int
    """Its place in the queue (the row id): pages continue after the last one seen."""
    request_id: str
    feature: str
    created_at: dt.datetime
    inputs: dict[str, Any]
    output: dict[str, Any]
    confidence: float | None
    prompt_version: str
    model: str
    status: ReviewStatus
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    correction: dict[str, Any] | None


class NotPendingError(Exception):
    """The answer exists but waits for no review: it was resolved already, or never flagged."""

    def __init__(self, review: Review) -> None:
        super().__init__(review.status)
        self.review = review


async def reviews(
    engine: AsyncEngine, tenant: str, status: ReviewStatus, *, limit: int, after: int | None
) -> list[Review]:
    """`tenant`'s answers in `status`, oldest first: at most `limit`, after position `after`."""
    query = _of(tenant).where(answers.c.review_status == status).order_by(answers.c.id)
    if after is not None:
        query = query.where(answers.c.id > after)
    async with engine.connect() as connection:
        rows = (await connection.execute(query.limit(limit))).mappings().all()
    return [_review(row) for row in rows]


async def resolve(
    engine: AsyncEngine,
    tenant: str,
    request_id: str,
    *,
    reviewer: str,
    correction: Mapping[str, Any],
    feature_of: Callable[[str], Feature],
    features: Sequence[Feature],
    comment: str | None,
) -> Review | None:
    """Record `reviewer`'s `correction` of a pending answer, and its audit entry.

    `feature_of` names the answer's feature, whose shape the correction must fit (a 422
    problem otherwise, a 409 when it fits another of the `features` instead). None when
    `tenant` has no answer with this request id; `NotPendingError` when it does, but the answer
    is not waiting for review.
    """
    async with engine.connect() as connection:
        found = (await connection.execute(_of(tenant, request_id).limit(1))).mappings().first()
    if found is None:
        return None
    feature = feature_of(found["feature"])
    stored = checked_correction(feature, correction, features)
    decided_at = dt.datetime.now(dt.UTC)
    decision = (
        update(answers)
        .where(
            answers.c.tenant == tenant,
            answers.c.request_id == request_id,
            answers.c.review_status == "pending",
        )
        .values(
            review_status="resolved",
            reviewed_by=reviewer,
            reviewed_at=decided_at,
            correction=stored,
        )
        .returning(*_COLUMNS)
    )
    async with engine.begin() as connection:
        resolved = (await connection.execute(decision)).mappings().first()
        if resolved is None:
            current = (await connection.execute(_of(tenant, request_id).limit(1))).mappings().one()
            raise NotPendingError(_review(current))
        review = _review(resolved)
        event = AuditEvent(
            occurred_at=decided_at,
            actor=reviewer,
            action=REVIEW_RESOLVED,
            subject=request_id,
            tenant=tenant,
            details=_decision(feature, stored, review.output, comment),
        )
        await append(connection, event)
    return review


def _of(tenant: str, request_id: str | None = None) -> Select[Any]:
    query = select(*_COLUMNS).where(answers.c.tenant == tenant)
    if request_id is not None:
        query = query.where(answers.c.request_id == request_id)
    return query


def _decision(
    feature: Feature, correction: Mapping[str, Any], output: Mapping[str, Any], comment: str | None
) -> dict[str, Any]:
    """What the audit trail keeps of a decision: the compared fields (triage: category and
    priority) of the correction and of the answer, whether they agreed, and the reviewer's
    comment; free text from the request stays out of the trail."""
    details: dict[str, Any] = {
        "correction": {name: correction.get(name) for name in feature.compared},
        "answer": {name: output.get(name) for name in feature.compared},
        "agreed": all(feature.agreement(correction, output).values()),
    }
    if comment is not None:
        details["comment"] = comment
    return details


def _review(row: RowMapping) -> Review:
    reviewed_at: dt.datetime | None = row["reviewed_at"]
    correction: dict[str, Any] | None = row["correction"]
    return Review(
        position=row["id"],
        request_id=row["request_id"],
        feature=row["feature"],
        created_at=utc(row["created_at"]),
        inputs=row["inputs"],
        output=row["output"],
        confidence=row["confidence"],
        prompt_version=row["prompt_version"],
        model=row["model"],
        status=row["review_status"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=utc(reviewed_at) if reviewed_at is not None else None,
        correction=correction,
    )
