"""Ticket triage: the reference feature. Subject and body in; category, priority, summary out."""

from typing import get_args

from ...evals.scorers import Closeness
from ...feature import Feature
from .rules import triage_rules
from .schemas import Priority, TriageCorrection, TriageRequest, TriageResult

FEATURE = Feature(
    name="triage",
    summary="Classify a support ticket: category, priority, summary, and whether a human "
    "should look.",
    request=TriageRequest,
    result=TriageResult,
    correction=TriageCorrection,
    rules=triage_rules,
    guarded=("summary",),
    streamed="summary",
    truncated="body",
    compared=("category", "priority"),
    review_threshold=0.6,
    injection="flag",
    scorers=(Closeness("priority", get_args(Priority)),),  # one step off of three scores 2/3
)
