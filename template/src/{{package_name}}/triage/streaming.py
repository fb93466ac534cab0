"""The summary of a triage answer while it streams in as incomplete JSON."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import from_json


@dataclass(frozen=True, slots=True)
class SummaryProgress:
    """The summary so far, while a streamed answer arrives."""

    summary: str


def partial_summary(answer: str) -> str:
    """The summary field of an incomplete JSON answer, as far as it has arrived."""
    try:
        parsed = from_json(answer, allow_partial="trailing-strings")
    except ValueError:
        return ""
    summary = parsed.get("summary") if isinstance(parsed, dict) else None
    return summary if isinstance(summary, str) else ""


def has_summary(answer: str) -> bool:
    """Whether the summary of an incomplete JSON answer has arrived whole."""
    try:
        parsed = from_json(answer, allow_partial=True)  # drops an unfinished string
    except ValueError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("summary"), str)
