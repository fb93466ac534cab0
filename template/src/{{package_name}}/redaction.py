"""Redaction of personal data and secrets from what the service writes down.

Logs, traces and error reports are kept longer and read by more people than the requests they
describe, so every string bound for them goes through `Redactor` first. Each kind of value is
recognised by its shape; card numbers and IBANs must also pass their checksum and phone numbers
need a plausible digit count, so that ids, timestamps, versions, prices and order numbers stay
readable. This runs on every log event and span: most strings are cleared by one cheap scan for
hints, and only the rest meet the full patterns. Escaped text (JSON and reprs, as libraries log
them) is searched with its escapes blanked, so a value that began a line is still found.
`settled` tells a stream how much of a text still being written it may show.

IP addresses are kept: they are operational data here (rate limits, abuse reports), and a team
that must hide them adds a kind.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Iterable
from typing import cast

REDACTED = "[REDACTED:{kind}]"

# Every finding starts a word: the character before it is not a letter, digit, `_`, `.` or `-`.
# One pattern per kind, tried in this order at each word start: the most specific first.
_PATTERNS = {
    # An `Authorization` credential: any Bearer token, or the base64 `user:password` of Basic.
    "bearer": r"[Bb](?:earer|asic) [\w\-.~+/]{8,}=*",
    "api_key": r"sk-[\w-]{20,}"  # sk-, sk-proj-, sk-ant- secret keys
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|A[KS]IA[A-Z0-9]{16}"  # AWS access key id
    r"|gh[oprsu]_[A-Za-z0-9]{36,}|github_pat_\w{22,}"  # GitHub
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[\w-]{35}"  # Google
    r"|eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*",  # JWT: base64url JSON header, payload and signature
    "email": r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}",
    # Country, check digits, then 11-30 letters and digits, bare or in groups of four.
    "iban": r"[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b",
    # A major network's first digit (2-6), then 13-19 digits: bare, 4-4-4-4(-3) or 4-6-4/5.
    "card": r"[2-6]\d{3}(?:\d{9,15}"
    r"|(?P<card_sep>[ -])\d{4}(?P=card_sep)\d{4}(?P=card_sep)\d{4}(?:(?P=card_sep)\d{3})?"
    r"|[ -]\d{6}[ -]\d{4,5})(?!\w|[.-]\d)",
    # International +44 20 7946 0958, North American (415) 555-0132, or national 020 7946 0958.
    "phone": r"(?:\(?\+\d{1,3}\)?(?:[ .-]?(?:\(\d{1,4}\)|\d{1,10})){1,6}"
    r"|(?:\(\d{3}\) ?\d{3}[ .-]|\d{3}(?P<nanp_sep>[ .-])\d{3}(?P=nanp_sep))\d{4}"
    r"|0\d{1,4}(?P<trunk_sep>[ ./-])\d{2,8}(?:(?P=trunk_sep)\d{2,8}){0,4}"
    r")(?!\w|[.-]\d)",
}
_PATTERN = re.compile(
    r"(?<![\w.-])(?:"
    + "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS.items())
    + ")"
)

# What every finding but an email has right after its word start: cheap to look for, so a
# string without any (and without an `@`) skips `_PATTERN`. Keep in step with `_PATTERNS`.
_HINTS = re.compile(
    r"[^0-9A-Za-z_.-](?:"  # a word start: searched with a space in front of the text
    r"[Bb]earer |[Bb]asic "
    r"|sk[-_]|rk_|A[KS]IA|AIza|gh[oprsu]_|github_pat_|xox|eyJ"
    r"|[A-Z][A-Z]\d\d"
    r"|[2-6]\d\d\d(?:\d{9}|[ -]\d{4})"
    r"|[(+]\+?\d|\d\d\d[ .-]\d\d\d[ .-]\d\d\d\d|0\d{1,4}[ ./-]\d\d"
    r")"
)

# Escaped text (JSON, a repr, a repr of JSON: what libraries log) writes a line break as `\n`,
# a tab as `\t`, a no-break space as `\u00a0`. The escape's letter would join the next word,
# so a value starting a line would not start a word: escapes are blanked before the search.
_ESCAPE = re.compile(r"\\(?:[nrtbf]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})")


def _blank_escapes(text: str) -> str:
    """`text` with each escape's letters and digits made spaces: same length, same offsets."""
    return _ESCAPE.sub(lambda escape: "\\" + " " * (len(escape.group()) - 1), text)


# What more text could still make part of a finding, at the end of a text being written: its
# last word until whitespace ends it (emails, keys and tokens have none), a credential's scheme
# word, or digits (or an IBAN's groups) followed by the digits and separators of card, phone
# and IBAN numbers. Keep in step with `_PATTERNS`.
_LAST_WORD = re.compile(r"\S+\Z")
_UNFINISHED = re.compile(
    r"(?<![\w.-])(?:"
    r"[Bb](?:earer|asic) "
    r"|(?:[A-Z]{2}\d{2}(?: [A-Z0-9]{1,4})*|[(+]*\d)[\d ().+/-]*"
    r")\Z"
)


def settled(text: str) -> str:
    """The start of a text still being written that no continuation can make part of a finding:
    what a stream may show before the text is complete (then redacted, like the whole text)."""
    text = _LAST_WORD.sub("", text)
    return _UNFINISHED.sub("", text, count=1)


def _is_credential(value: str) -> bool:
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer":
        return True
    try:  # Basic: only base64 of `user:password`, so that "basic features" stays prose.
        return b":" in binascii.a2b_base64(token, strict_mode=True)
    except binascii.Error:
        return False


def _passes_luhn(value: str) -> bool:
    digits = [int(char) for char in reversed(value) if char.isdigit()]
    doubled = (sum(divmod(2 * digit, 10)) for digit in digits[1::2])
    return 13 <= len(digits) <= 19 and (sum(digits[::2]) + sum(doubled)) % 10 == 0


def _passes_mod97(value: str) -> bool:
    compact = value.replace(" ", "")
    as_number = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    return 15 <= len(compact) <= 34 and int(as_number) % 97 == 1


def _is_phone_number(value: str) -> bool:
    # A national number carries its area code: 9 digits or more, which also rules out dates.
    digits = sum(char.isdigit() for char in value)
    return (7 if "+" in value else 9) <= digits <= 15


_CHECKS: dict[str, Callable[[str], bool]] = {
    "bearer": _is_credential,
    "card": _passes_luhn,
    "iban": _passes_mod97,
    "phone": _is_phone_number,
}
_MARKERS = {kind: REDACTED.format(kind=kind) for kind in [*_PATTERNS, "secret"]}
_SECRET_MIN_LENGTH = 8


def _found_length(match: re.Match[str]) -> int:
    """How much of a match is a value: all of it, a start of it, or (0) none of it."""
    value = match.group()
    check = _CHECKS.get(cast(str, match.lastgroup))  # every alternative is a named group
    # A value that fails its check may have taken in the next word ("... 1332 BIC") or the
    # start of the next value (two IBANs in a row): retry without its last group before
    # keeping it whole.
    end = len(value)
    while check is not None and not check(value[:end]):
        end = max(value.rfind(" ", 0, end), value.rfind("-", 0, end))
        if end <= 0:
            return 0
    return end


class Redactor:
    """Replaces personal data and secrets in text with [REDACTED:<kind>] markers.

    `secrets` are the service's own credentials (its API keys, provider keys): they are removed
    wherever they appear, whatever their shape. Values shorter than 8 characters are ignored so
    that a short one cannot mangle ordinary words.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = {secret for secret in secrets if len(secret) >= _SECRET_MIN_LENGTH}
        # Longest first, so that a secret containing another is removed whole.
        self._secrets = sorted(kept, key=lambda secret: (-len(secret), secret))

    def redact(self, text: str) -> str:
        """Return `text` with every value it recognises replaced by its marker."""
        for secret in self._secrets:
            text = text.replace(secret, _MARKERS["secret"])
        searched = _blank_escapes(text) if "\\" in text else text
        if "@" not in text and _HINTS.search(" " + searched) is None:
            return text
        # No pattern takes in a backslash, so what is found in `searched` is in `text` too.
        parts: list[str] = []
        kept = start = 0  # `text` is copied up to `kept`; the search goes on from `start`
        while (match := _PATTERN.search(searched, start)) is not None:
            length = _found_length(match)
            if length == 0:
                start = match.end()
                continue
            parts += (text[kept : match.start()], _MARKERS[cast(str, match.lastgroup)])
            kept = start = match.start() + length
        return "".join(parts) + text[kept:]

    def redact_value(self, value: object) -> object:
        """Redact a log or span value.

        str -> redacted str; dict -> new dict with redacted values (keys kept); list/tuple ->
        same type, redacted items; numbers, booleans and None unchanged. Anything else (an
        exception, bytes, a dataclass) would be written as its text, so it becomes that text,
        redacted.
        """
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, int | float):
            return value
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact_value(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.redact_value(item) for item in value)
        return self.redact(str(value))
