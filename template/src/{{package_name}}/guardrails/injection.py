"""Prompt-injection heuristics: named signals, each a pattern with a weight, and a score.

A ticket is data, but a model reads it as text and may obey instructions written into it. These
patterns recognise the usual shapes of such instructions: telling the model to ignore its rules,
to become someone else, to reveal its prompt, to set a label; fake prompt structure (role lines,
the prompt's own tags); template syntax. Each signal counts once; the score combines the weights
of the signals found as independent evidence, `1 - prod(1 - weight)`, so one strong signal or
two weaker ones reach the default threshold (0.5) and one weak signal alone does not.

Heuristics are a tripwire, not a wall: they miss paraphrases and the prompt still tells the
model the ticket is data. They run on normalised text (`guardrails.text`), so invisible
characters and full-width letters cannot split a phrase, and on case-folded text, so the patterns
are written in lower case (matching them without `re.IGNORECASE` takes about half the time).
English, with French and German for the commonest phrase.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

_FLAGS = re.MULTILINE
_CATEGORY = r"(?:billing|technical|account|feature[_ ]request|other)"
_LABEL = rf"(?:urgent|high|normal|low|{_CATEGORY})"


@dataclass(frozen=True, slots=True)
class Signal:
    """One shape of injected instruction, and how much it alone says the text is one."""

    name: str
    weight: float
    pattern: re.Pattern[str]


SIGNALS: tuple[Signal, ...] = (
    Signal(
        "ignore_instructions",
        0.9,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?"
            r"\b(?:instructions?|rules|guidelines|directions|system prompt|prompts?)\b"
            r"|\b(?:do not|don't|does not|doesn't|never) (?:follow|obey)\b[^.\n]{0,30}"
            r"\b(?:instructions|rules)\b|\bwithout any rules\b"
            r"|\bignore[rz]?\b[^.\n]{0,30}\b(?:instructions|consignes|règles)\b"
            r"|\b(?:ignorier\w*|vergiss)\b[^.\n]{0,40}\b(?:anweisungen|instruktionen|regeln)\b",
            _FLAGS,
        ),
    ),
    Signal(
        "prompt_extraction",
        0.8,
        re.compile(
            r"\bsystem prompt\b|\byour (?:system message|system instructions)\b"
            r"|\binstructions (?:that )?you (?:were given|have been given|received|got)\b"
            r"|\b(?:reveal|repeat|print|show|output|translate|disclose)\b[^.\n]{0,40}"
            r"\b(?:your|the) (?:full |complete |initial |original )?"
            r"(?:prompt|instructions|system message)\b",
            _FLAGS,
        ),
    ),
    Signal(
        "role_override",
        0.4,
        re.compile(
            r"\byou are now\b|\bfrom now on,? you\b|\b(?:act|behave|respond) as (?:an? |the )?"
            r"(?:ai|assistant|bot|model|\w+bot|\w*mode)\b|\bpretend (?:to be|you are)\b"
            r"|\b(?:developer|dev|debug|jailbreak|god) ?mode\b",
            _FLAGS,
        ),
    ),
    Signal(
        "addresses_the_model",
        0.5,
        re.compile(
            r"\b(?:note|message|instructions?) (?:to|for) (?:the |any |all )?"
            r"(?:ai|automated|triage|llm|language model|assistant|bot)\b"
            r"|\b(?:ai|assistant|model|bot|llm)s? reading this\b",
            _FLAGS,
        ),
    ),
    Signal(
        "label_steering",
        0.6,
        re.compile(
            rf"\b(?:set|change|make|put|force|output)\b[^.\n]{{0,20}}\bpriority\b[^\w\n]{{0,3}}"
            rf"(?:to|=|:|as)?[^\w\n]{{0,3}}{_LABEL}\b"
            rf"|\b(?:category|priority)[\"']?[ \t]*[=:][ \t]*[\"']?{_LABEL}\b"
            rf"|\bcategory[^\w\n]{{0,3}}{_CATEGORY}\b"
            rf"|\b(?:classif\w*|categori[sz]\w*|label\w*|tag)\b[^.\n]{{0,40}}"
            rf"\bas\b[^.\n]{{0,12}}\b{_LABEL}\b",
            _FLAGS,
        ),
    ),
    Signal(
        "urgency_demand",
        0.3,
        re.compile(
            r"\b(?:mark|treat|flag|escalate) (?:this|it|the ticket|my ticket)(?: ticket)? as "
            r"(?:urgent|high|critical|top)",
            _FLAGS,
        ),
    ),
    Signal(
        "role_marker",
        0.5,
        re.compile(
            r"^[^\w\n]*(?:system|assistant|developer)(?: \w+)?[ \t]*:"
            r"|<\|im_(?:start|end)\|>|\[/?inst\]|^#{2,} ?(?:system|instructions?)\b",
            _FLAGS,
        ),
    ),
    Signal(
        "fake_delimiter",
        0.6,
        re.compile(
            r"</?(?:ticket|subject|body|system|instructions?|assistant|user|prompt)[ \t]*>", _FLAGS
        ),
    ),
    Signal(
        "template_syntax",
        0.3,
        re.compile(r"\{\{|\{%|\$\{|<%", _FLAGS),
    ),
    Signal(
        "template_introspection",
        0.5,
        re.compile(r"\{[{%][^}\n]*(?:__\w+__|\bconfig\b|\bself\b|\brequest\b)", _FLAGS),
    ),
)
"""Every signal, in the order they are reported."""


@dataclass(frozen=True, slots=True)
class InjectionScan:
    """What the heuristics found in some text: the signals that fired and their score."""

    score: float
    signals: tuple[str, ...]


def scan(texts: Iterable[str]) -> InjectionScan:
    """The signals found in any of `texts` (a ticket's fields), and their combined score."""
    folded = tuple(text.casefold() for text in texts)
    fired = [signal for signal in SIGNALS if any(signal.pattern.search(text) for text in folded)]
    score = 1.0 - math.prod(1.0 - signal.weight for signal in fired)
    return InjectionScan(round(score, 3), tuple(signal.name for signal in fired))


def strip_lines(text: str, signals: Iterable[str], marker: str) -> str:
    """`text` with every line on which one of `signals` fires replaced by `marker`."""
    names = set(signals)
    patterns = [signal.pattern for signal in SIGNALS if signal.name in names]
    return "\n".join(
        marker if any(pattern.search(line.casefold()) for pattern in patterns) else line
        for line in text.split("\n")
    )
