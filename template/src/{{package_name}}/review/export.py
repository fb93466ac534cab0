"""Corrections as eval cases: what reviewers and clients said was right, for the next eval run.

Resolved reviews and feedback that carries a correction become cases of a feature's
pydantic-evals dataset, a YAML file committed with the code: the request as input, the
correction's compared fields (triage: category and priority) as expected output. The file goes
to git, so the request is redacted first (emails,
phone numbers, card numbers, IBANs, credentials: see `redaction.py`; names and addresses are
not recognised, so read the cases before committing them).

One case per answer, named `<tenant>/<request id>`: a review decision wins over feedback, and
later feedback over earlier. Exporting again into the same file adds only the new cases and
keeps those already there, edits included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import RowMapping, and_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..database.tables import answers, feedback
from ..evals.cases import CaseMetadata, Source, dataset_type, read_dataset
from ..feature import Feature
from ..redaction import Redactor

SLICE = "production"
"""The dataset slice exported cases belong to: real traffic, as opposed to written cases."""


@dataclass(frozen=True, slots=True)
class CorrectedAnswer:
    """An answer, the request it answered, and the correction it received."""

    tenant: str
    request_id: str
    source: Source
    inputs: Mapping[str, Any]
    correction: Mapping[str, Any]
    prompt_version: str
    model: str

    @property
    def case_name(self) -> str:
        """Request ids are unique per tenant only, so the name carries both."""
        return f"{self.tenant}/{self.request_id}"


@dataclass
class Export:
    """What an export did to the dataset file."""

    added: int = 0
    total: int = 0
    unfit: list[str] = field(default_factory=list)
    """Cases left out because their redacted request, or their correction, no longer fits the
    feature's schemas."""


async def corrected_answers(
    engine: AsyncEngine, feature: str, since: dt.datetime | None
) -> list[CorrectedAnswer]:
    """`feature`'s answers corrected since `since` (all when None), one per answer: review
    first, then the latest feedback."""
    reviewed = (
        select(
            answers.c.tenant,
            answers.c.request_id,
            answers.c.inputs,
            answers.c.correction,
            answers.c.prompt_version,
            answers.c.model,
        )
        .where(answers.c.feature == feature, answers.c.review_status == "resolved")
        .order_by(answers.c.id)
    )
    rated = (
        select(
            feedback.c.tenant,
            feedback.c.request_id,
            answers.c.inputs,
            feedback.c.correction,
            answers.c.prompt_version,
            answers.c.model,
        )
        .select_from(
            feedback.join(
                answers,
                and_(
                    answers.c.tenant == feedback.c.tenant,
                    answers.c.request_id == feedback.c.request_id,
                ),
            )
        )
        .where(answers.c.feature == feature, feedback.c.correction.is_not(None))
        .order_by(feedback.c.id.desc())
    )
    if since is not None:
        reviewed = reviewed.where(answers.c.reviewed_at >= since)
        rated = rated.where(feedback.c.created_at >= since)
    async with engine.connect() as connection:
        found: list[tuple[Source, Sequence[RowMapping]]] = [
            ("review", (await connection.execute(reviewed)).mappings().all()),
            ("feedback", (await connection.execute(rated)).mappings().all()),
        ]
    chosen: dict[str, CorrectedAnswer] = {}
    for source, rows in found:
        for row in rows:
            answer = CorrectedAnswer(
                tenant=row["tenant"],
                request_id=row["request_id"],
                source=source,
                inputs=row["inputs"],
                correction=row["correction"],
                prompt_version=row["prompt_version"],
                model=row["model"],
            )
            chosen.setdefault(answer.case_name, answer)
    return list(chosen.values())


def add_cases(
    feature: Feature, path: Path, corrected: Iterable[CorrectedAnswer], redactor: Redactor
) -> Export:
    """Add a case for each answer not in `feature`'s dataset at `path` yet (created if
    missing).

    Raises ValueError (or a YAML error) when the file exists but is not a dataset of this shape.
    """
    dataset = (
        read_dataset(feature, path)
        if path.exists()
        else dataset_type(feature)(name=path.stem, cases=[])
    )
    known = {case.name for case in dataset.cases}
    export = Export()
    for answer in corrected:
        if answer.case_name in known:
            continue
        try:
            received = feature.request.model_validate(
                {key: redactor.redact(answer.inputs[key]) for key in feature.request.model_fields}
            )
            expected = feature.expected.model_validate(
                {key: answer.correction[key] for key in feature.compared}
            )
        except (ValidationError, KeyError):
            export.unfit.append(answer.case_name)
            continue
        dataset.add_case(
            name=answer.case_name,
            inputs=received,
            expected_output=expected,
            metadata=CaseMetadata(
                slice=SLICE,
                source=answer.source,
                request_id=answer.request_id,
                prompt_version=answer.prompt_version,
                model=answer.model,
            ),
        )
        known.add(answer.case_name)
        export.added += 1
    export.total = len(dataset.cases)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_file(path, schema_path=None)
    return export
