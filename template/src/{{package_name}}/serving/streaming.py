"""The streamed field of an answer while it arrives as incomplete JSON."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import from_json


@dataclass(frozen=True, slots=True)
class Progress:
    """The streamed field so far (e.g. triage's `summary`), while an answer arrives."""

    field: str
    text: str


def partial_field(answer: str, name: str) -> str:
    """Field `name` of an incomplete JSON answer, as far as it has arrived."""
    try:
        parsed = from_json(answer, allow_partial="trailing-strings")
    except ValueError:
        return ""
    value = parsed.get(name) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else ""


def has_field(answer: str, name: str) -> bool:
    """Whether field `name` of an incomplete JSON answer has arrived whole."""
    try:
        parsed = from_json(answer, allow_partial=True)  # drops an unfinished string
    except ValueError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get(name), str)
