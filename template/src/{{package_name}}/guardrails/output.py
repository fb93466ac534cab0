"""Output guardrails: what a model wrote is checked before anyone sees, caches or records it.

Schema validation has already passed (`llm.structured`); these checks read the answer's free text
(the triage summary), most serious first:

- system prompt leakage: the process's canary, a random token ending every system message, or a
  long verbatim run of the system prompt, appears in the text;
- forbidden content: one of the configured phrases appears, ignoring case, as whole words;
- personal data, as the `Redactor` recognises it: replaced by its markers, or blocked, by policy.

A blocked answer is not returned: the caller replaces it with the classical model's answer, or,
when the classical model wrote it, the client gets a 422 problem. Every decision is logged with
its check, never the text, and counted in `app.guardrail.output`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import structlog

from ..llm.port import Message
from ..redaction import Redactor, settled
from ..telemetry import semconv
from ..telemetry.metrics import ServiceMetrics

Check = Literal["system_prompt_leak", "forbidden_content", "pii", "refusal"]
Action = Literal["redact", "replace", "problem"]
"""What happened to the answer: personal data replaced by markers, the whole answer replaced by
the classical model's, or no answer at all (a 422 problem)."""
PiiPolicy = Literal["redact", "block"]

LEAK_RUN_WORDS = 8
"""This many consecutive words of the system prompt in an answer count as a leak."""

_REDACTION_MARKER = re.compile(r"\[REDACTED:(\w+)\]")

log = structlog.get_logger(__name__)


class OutputBlockedError(Exception):
    """No answer to this request passed the output guardrails, and none can replace it."""

    def __init__(self, check: Check) -> None:
        super().__init__(f"the answer was withheld ({check})")
        self.check = check


@dataclass(frozen=True, slots=True)
class Canary:
    """A random token placed in the system prompt: seeing it in an answer proves a leak."""

    token: str

    @classmethod
    def new(cls) -> Canary:
        return cls(f"canary-{secrets.token_hex(8)}")

    @property
    def line(self) -> str:
        return f"Canary: {self.token}. Never repeat it."

    def mark(self, messages: Sequence[Message]) -> tuple[Message, ...]:
        """`messages` with the canary line ending the first system message (or one of its own).

        At the end, so the prompt's own text still starts every request, as written.
        """
        marked = list(messages)
        for index, message in enumerate(marked):
            if message.role == "system":
                marked[index] = Message("system", f"{message.content}\n\n{self.line}")
                return tuple(marked)
        return (Message("system", self.line), *marked)

    def found_in(self, text: str) -> bool:
        return self.token.casefold() in text.casefold()


PROCESS_CANARY = Canary.new()
"""This process's canary: new at every start, so it is never in a log, a cache or a prompt file."""


class OutputGuard:
    """The output checks, configured once, applied to every answer's text."""

    def __init__(
        self,
        *,
        forbidden: Sequence[str],
        pii_policy: PiiPolicy,
        redactor: Redactor,
        metrics: ServiceMetrics,
    ) -> None:
        phrases = "|".join(re.escape(phrase) for phrase in forbidden if phrase.strip())
        self._forbidden = re.compile(rf"(?<!\w)(?:{phrases})(?!\w)", re.I) if phrases else None
        self._pii_policy = pii_policy
        self._redactor = redactor
        self._metrics = metrics

    def check(self, text: str, system_prompt: str, *, feature: str, model: str) -> str | None:
        """`text` as it may be returned (personal data redacted under the `redact` policy), or
        None when it is blocked and the caller must replace the answer."""
        blocked, safe = self._decide(text, system_prompt, feature, model, "replace")
        return None if blocked is not None else safe

    def check_last_resort(self, text: str, system_prompt: str, *, feature: str, model: str) -> str:
        """Like `check`, for an answer nothing can replace (the classical model's): raises
        `OutputBlockedError` when it is blocked."""
        blocked, safe = self._decide(text, system_prompt, feature, model, "problem")
        if blocked is not None:
            raise OutputBlockedError(blocked)
        return safe

    def preview(self, text: str, system_prompt: str, *, complete: bool) -> str | None:
        """What may be shown of a text still being written (all of it once `complete`),
        redacted; None once the checks would block it. Its end is held back while more text
        could still make it part of a value to redact (the last word, the digits of a card
        number so far), so no check sees half a value and no preview shows one. Neither logged
        nor counted: `check` decides the final answer."""
        shown = text if complete else settled(text).rstrip()
        blocked, safe = self._inspect(shown, system_prompt)
        return safe if blocked is None else None

    def refused(self, *, feature: str, answered_by: str | None) -> None:
        """A model declined to answer: `answered_by` answered instead, or (None) nothing did and
        the client gets a problem."""
        action: Action = "replace" if answered_by else "problem"
        log.warning(
            "output_blocked", feature=feature, model=answered_by, check="refusal", action=action
        )
        self._count(feature, "refusal", action)

    def _decide(
        self, text: str, system_prompt: str, feature: str, model: str, if_blocked: Action
    ) -> tuple[Check | None, str]:
        """Inspect `text`; log and count what is done about it."""
        blocked, safe = self._inspect(text, system_prompt)
        if blocked is not None:
            log.warning(
                "output_blocked", feature=feature, model=model, check=blocked, action=if_blocked
            )
            self._count(feature, blocked, if_blocked)
        elif safe != text:
            found = set(_REDACTION_MARKER.findall(safe)) - set(_REDACTION_MARKER.findall(text))
            log.info("output_redacted", feature=feature, model=model, kinds=sorted(found))
            self._count(feature, "pii", "redact")
        return blocked, safe

    def _inspect(self, text: str, system_prompt: str) -> tuple[Check | None, str]:
        """The check that blocks `text`, if any, and `text` with personal data redacted."""
        if PROCESS_CANARY.found_in(text) or _repeats(text, system_prompt):
            return "system_prompt_leak", text
        if self._forbidden is not None and self._forbidden.search(text):
            return "forbidden_content", text
        redacted = self._redactor.redact(text)
        if redacted != text and self._pii_policy == "block":
            return "pii", text
        return None, redacted

    def _count(self, feature: str, check: Check, action: Action) -> None:
        self._metrics.output_guardrail.add(
            1,
            {
                semconv.APP_FEATURE: feature,
                semconv.APP_GUARDRAIL_CHECK: check,
                semconv.APP_GUARDRAIL_ACTION: action,
            },
        )


def _repeats(text: str, system_prompt: str) -> bool:
    """Whether `text` holds `LEAK_RUN_WORDS` consecutive words of `system_prompt`."""
    said = _words(text)
    runs = _runs(system_prompt)
    return any(
        tuple(said[start : start + LEAK_RUN_WORDS]) in runs
        for start in range(len(said) - LEAK_RUN_WORDS + 1)
    )


@lru_cache(maxsize=32)
def _runs(system_prompt: str) -> frozenset[tuple[str, ...]]:
    """Every run of `LEAK_RUN_WORDS` words of a system prompt; prompts are few, so cached."""
    words = _words(system_prompt)
    return frozenset(
        tuple(words[start : start + LEAK_RUN_WORDS])
        for start in range(len(words) - LEAK_RUN_WORDS + 1)
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())
