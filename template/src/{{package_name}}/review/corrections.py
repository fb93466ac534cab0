"""A person's account of the right answer: what feedback and review decisions carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..features.triage.schemas import MAX_SUMMARY_CHARS, Category, Priority

MAX_COMMENT_CHARS = 2_000
"""A comment explains a rating or a decision in a few sentences; it is not a second ticket."""

Comment = Annotated[str, Field(min_length=1, max_length=MAX_COMMENT_CHARS)]


class Correction(BaseModel):
    """The category and priority the answer should have had, and optionally a better summary.

    The same enums as the model's answer, so a correction can become an eval case as it is.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    category: Category
    priority: Priority
    summary: Annotated[str | None, Field(min_length=1, max_length=MAX_SUMMARY_CHARS)] = None

    def agrees_with(self, output: Mapping[str, object]) -> bool:
        """Whether the model's answer already had this category and priority."""
        return output.get("category") == self.category and output.get("priority") == self.priority
