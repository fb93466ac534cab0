"""Keyword rules for triage: the classical model's answer, offline and deterministic.

They are deliberately simple and explainable: count category keywords (a subject hit counts
double), pick the best-scoring category, derive priority from cue words, and summarise with the
ticket's first sentence. Confidence reflects how much evidence there was and how clearly one
category won, so weak or ambiguous tickets fall under the review threshold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .schemas import MAX_SUMMARY_CHARS, Category, Priority


def _phrases(text: str) -> tuple[str, ...]:
    """Split a comma-separated list of lowercase phrases."""
    return tuple(phrase.strip() for phrase in text.split(",") if phrase.strip())


CATEGORY_KEYWORDS: Mapping[Category, tuple[str, ...]] = {
    "billing": _phrases(
        "bill, billing, charge, charged, credit card, invoice, overcharged, payment, price,"
        "pricing, receipt, refund, subscription, facture, remboursement, paiement, rechnung,"
        "zahlung, rückerstattung, 請求, 返金, 支払"
    ),
    "account": _phrases(
        "2fa, account, locked out, log in, login, password, profile, sign in, signin,"
        "two-factor, username, compte, mot de passe, konto, passwort, anmelden,"
        "アカウント, パスワード, ログイン"
    ),
    "technical": _phrases(
        "api, broken, bug, crash, crashes, doesn't work, error, exception, fails, failure,"
        "not working, outage, slow, stack trace, timeout, traceback, erreur, panne, fehler,"
        "absturz, funktioniert nicht, エラー, 障害, 動かない"
    ),
    "feature_request": _phrases(
        "feature, it would be nice, please add, roadmap, suggestion, support for,"
        "would be great, would love, wish, fonctionnalité, funktion, vorschlag, 機能, 要望"
    ),
}

URGENT_CUES = _phrases(
    "asap, data loss, down for everyone, emergency, immediately, outage, production is down,"
    "security breach, urgent, urgence, dringend, 緊急"
)
HIGH_CUES = _phrases(
    "blocked, can't, cannot, charged twice, error, failed, locked out, not working, unable,"
    "impossible, nicht möglich"
)
LOW_CUES = _phrases(
    "feature, question, suggestion, thank, when you have time, would be nice, merci, danke,"
    "ありがとう"
)
HUMAN_CUES = _phrases(
    "chargeback, fraud, gdpr, lawsuit, lawyer, legal action, police, self-harm, threat"
)

NO_EVIDENCE_CONFIDENCE = 0.2
"""No keyword matched: the answer is a guess, so it always goes to review."""

_WORDS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|(?<=[\u3002\uff01\uff1f])")


def _mentions(text: str, phrase: str) -> bool:
    """Whole-word match for Latin-script phrases, substring match for others (e.g. Japanese)."""
    if phrase.isascii():
        return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None
    return phrase in text


def _score(subject: str, body: str) -> dict[Category, int]:
    return {
        category: sum(2 * _mentions(subject, k) + _mentions(body, k) for k in keywords)
        for category, keywords in CATEGORY_KEYWORDS.items()
    }


def _priority(text: str) -> Priority:
    if any(_mentions(text, cue) for cue in URGENT_CUES):
        return "urgent"
    if any(_mentions(text, cue) for cue in HIGH_CUES):
        return "high"
    if any(_mentions(text, cue) for cue in LOW_CUES):
        return "low"
    return "normal"


def _summary(subject: str, body: str) -> str:
    text = _WORDS.sub(" ", body).strip() or _WORDS.sub(" ", subject).strip()
    first = _SENTENCE_END.split(text, maxsplit=1)[0] or "(empty ticket)"
    if len(first) <= MAX_SUMMARY_CHARS:
        return first
    cut = first[: MAX_SUMMARY_CHARS - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def triage_rules(inputs: Mapping[str, str]) -> dict[str, object]:
    """Answer a triage request from its `subject` and `body` inputs."""
    subject, body = inputs["subject"].lower(), inputs["body"].lower()
    scores = _score(subject, body)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, runner_up) = ranked[0], ranked[1]
    text = f"{subject}\n{body}"
    if top == 0:
        category: Category = "other"
        confidence = NO_EVIDENCE_CONFIDENCE
    else:
        category = best
        margin = (top - runner_up) / top
        evidence = 1 - 0.5**top
        confidence = round(min(0.95, 0.25 + 0.7 * margin * evidence), 2)
    return {
        "category": category,
        "priority": _priority(text),
        "summary": _summary(inputs["subject"], inputs["body"]),
        "needs_human": any(_mentions(text, cue) for cue in HUMAN_CUES),
        "confidence": confidence,
    }
