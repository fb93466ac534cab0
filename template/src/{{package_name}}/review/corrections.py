"""A person's account of the right answer: what feedback and review decisions carry.

Its shape is the answer's feature's (`Feature.correction`): a correction is checked against it
once the answer, hence the feature, is known. A misfit raises `CorrectionInvalidError` (a 422
problem, like any invalid body) and a correction the answer cannot take raises
`CorrectionConflictError` (a 409): `api/problems.py` renders both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationError

from ..feature import Feature

if TYPE_CHECKING:
    from ..serving.service import FeatureService

MAX_COMMENT_CHARS = 2_000
"""A comment explains a rating or a decision in a few sentences; it is not a second ticket."""

Comment = Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_CHARS)]

CorrectionBody = Annotated[
    dict[str, Any],
    Field(
        description="What the answer should have been, in the shape of its feature's correction "
        "(e.g. triage's category and priority): a 422 problem when it fits no feature's, a 409 "
        "when it fits another feature's."
    ),
]


class CorrectionConflictError(Exception):
    """The answer cannot take this correction: it is another feature's shape, or the answer's
    feature is no longer served."""


class CorrectionInvalidError(ValueError):
    """The correction fits no feature's shape; `errors` locate each misfit, as pydantic's do."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid correction field(s)")
        self.errors = errors


def checked_correction(
    feature: Feature, correction: Mapping[str, Any], others: Iterable[Feature] = ()
) -> dict[str, Any]:
    """`correction` as `feature` defines one, ready to store (JSON, unset fields left out).

    A correction that fits one of the `others` features instead is a `CorrectionConflictError`;
    one that fits none is a `CorrectionInvalidError` locating each misfit under
    `body.correction`.
    """
    try:
        valid = feature.correction.model_validate(correction)
    except ValidationError as exc:
        if any(_fits(other, correction) for other in others if other is not feature):
            raise CorrectionConflictError(
                f"This answer is {feature.name}'s: its correction is a "
                f"{feature.correction.__name__}, not another feature's."
            ) from None
        errors = [
            {**error, "loc": ("body", "correction", *error["loc"])}
            for error in exc.errors(include_url=False)
        ]
        raise CorrectionInvalidError(errors) from None
    return valid.model_dump(mode="json", exclude_none=True)


def _fits(feature: Feature, correction: Mapping[str, Any]) -> bool:
    try:
        feature.correction.model_validate(correction)
    except ValidationError:
        return False
    return True


def served_feature(services: Mapping[str, FeatureService], name: str) -> Feature:
    """The feature called `name`, which must still be served for its corrections to be checked
    (a `CorrectionConflictError` otherwise)."""
    service = services.get(name)
    if service is None:
        raise CorrectionConflictError(
            f"The answer's feature, {name}, is no longer served: it takes no corrections."
        )
    return service.feature
