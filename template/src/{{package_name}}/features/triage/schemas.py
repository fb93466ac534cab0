"""The shapes of a triage request, the model's answer and a person's correction.

All three forbid unknown fields and lax coercions, so a client or a model that sends something
unexpected gets a clear validation error instead of a silently guessed value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...guardrails.text import VISIBLE_PATTERN, NormalisedText

Category = Literal["billing", "technical", "account", "feature_request", "other"]
Priority = Literal["low", "normal", "high", "urgent"]

MAX_SUBJECT_CHARS = 300
MAX_BODY_CHARS = 20_000
MAX_SUMMARY_CHARS = 300

_STRICT = ConfigDict(extra="forbid", strict=True)


class TriageRequest(BaseModel):
    """A support ticket to triage, normalised (`guardrails.text`) before anything reads it.

    The length limits hold for the text as sent and again once normalised (which can lengthen
    it); the subject is one line, and must keep a visible character.
    """

    model_config = _STRICT

    subject: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_SUBJECT_CHARS,
            json_schema_extra={"pattern": VISIBLE_PATTERN},
        ),
        AfterValidator(NormalisedText(MAX_SUBJECT_CHARS, one_line=True, required=True)),
    ]
    body: Annotated[
        str, Field(max_length=MAX_BODY_CHARS), AfterValidator(NormalisedText(MAX_BODY_CHARS))
    ]


class TriageResult(BaseModel):
    """What the model must answer; its JSON schema is sent with every request."""

    model_config = _STRICT

    category: Category
    priority: Priority
    summary: Annotated[str, Field(min_length=1, max_length=MAX_SUMMARY_CHARS)]
    needs_human: bool
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]


class TriageCorrection(BaseModel):
    """The category and priority the answer should have had, and optionally a better summary.

    The same enums as the model's answer, so a correction can become an eval case as it is.
    """

    model_config = _STRICT

    category: Category
    priority: Priority
    summary: Annotated[str | None, Field(min_length=1, max_length=MAX_SUMMARY_CHARS)] = None
