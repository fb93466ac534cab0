"""Normalisation of user text, before anything (limits, screening, cache, prompt) reads it.

Text that looks the same must be the same: compatibility forms are folded (NFKC, so a
full-width letter reads as its ASCII one) and characters that render as nothing are removed, so
neither a person reviewing a ticket nor a pattern screening it sees less than the model does.
Removed: terminal (ANSI/VT) escape sequences whole, so `\\x1b[31m` leaves nothing behind, not
`[31m`; control characters except line feed and tab (`\\r\\n` and a lone `\\r` become `\\n`),
zero-width characters, bidirectional overrides and isolates (they reorder what a reviewer sees),
and Unicode tag characters (invisible ASCII look-alikes used to smuggle instructions). The cost:
emoji joined by U+200D and flag tag sequences fall apart into their parts, and scripts that
use U+200C between letters lose it, which changes no meaning a classifier needs.

`NormalisedText` applies this to a pydantic field and checks its limits on the normalised text;
the field's own `max_length` still bounds the raw text, so the work done on it is bounded too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

_INVISIBLE_BMP = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 and C1 controls and DEL, but not \t or \n
    r"\u200b-\u200d\u2060\ufeff"  # zero-width space, non-joiner, joiner, word joiner, BOM
    r"\u202a-\u202e\u2066-\u2069"  # bidirectional embeddings, overrides and isolates
)
_TAG_CHARACTERS = r"\U000e0000-\U000e007f"
_ESCAPE_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI, 7- or 8-bit: colours, cursor moves, erasing
    r"|(?:\x1b[]PX^_]|[\x90\x98\x9d-\x9f])[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b(?:[ -/]+[0-~]|[0-?])"  # a charset choice (ESC ( B), a cursor save, a keypad mode
)
"""ECMA-48 escape sequences, 7- and 8-bit. String commands (OSC, such as a window title or a
hyperlink, DCS, SOS, PM, APC) end at BEL or ST and hold no control character, which keeps
matching linear; an unterminated one is no sequence. Nor is an ESC before a letter (ESC c, a
reset): like any lone control character, only the ESC goes, never a letter of the text."""
_INVISIBLE = re.compile(f"[{_INVISIBLE_BMP}{_TAG_CHARACTERS}]")
_LINE_BREAK = re.compile(r"\r\n?")
_ONE_LINE_BREAKS = re.compile(r"[\r\n\t]+")

VISIBLE_PATTERN = rf"[^\s{_INVISIBLE_BMP}]"
"""JSON-schema pattern of a text with something left to read once normalised (tag characters,
outside the Basic Multilingual Plane, are left out: JSON-schema patterns cannot name them)."""


def normalise(text: str) -> str:
    """`text` with escape sequences and invisible characters removed and compatibility forms
    folded (NFKC)."""
    visible = _INVISIBLE.sub("", _LINE_BREAK.sub("\n", _ESCAPE_SEQUENCES.sub("", text)))
    return unicodedata.normalize("NFKC", visible)


def normalise_line(text: str) -> str:
    """`normalise`, for a one-line field: line breaks and tabs become spaces, ends trimmed.

    A line break in a subject can only fake structure (a `system:` line) in the prompt.
    """
    return _ONE_LINE_BREAKS.sub(" ", normalise(text)).strip()


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """A pydantic after-validator: normalise the value, then check it is still within limits.

    `required` refuses a value with nothing visible left, such as one made of zero-width
    characters only, like an empty one.
    """

    max_chars: int
    one_line: bool = False
    required: bool = False

    def __call__(self, value: str) -> str:
        text = normalise_line(value) if self.one_line else normalise(value)
        if self.required and (not text or text.isspace()):
            raise PydanticCustomError(
                "string_pattern_mismatch", "String should contain a visible character"
            )
        if len(text) > self.max_chars:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters once normalised",
                {"max_length": self.max_chars},
            )
        return text
