"""Ticket triage: the reference feature. Subject and body in; category, priority, summary out."""

from ...feature import Feature
from .rules import triage_rules
from .schemas import TriageCorrection, TriageRequest, TriageResult

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
)
