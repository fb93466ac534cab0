"""What the fake model answers: plausible triage results, or the bad answers a fault asks for.

A structured request for `triage_result` is answered by the keyword rules on the ticket found in
the last user message, so a service pointed at the fake gives sensible results. Token counts are
derived from text lengths; the system prompt counts as cached input, as a stable prefix would.
"""

from __future__ import annotations

import json
import math
import re

from ..triage.rules import triage_rules
from ..triage.schemas import TRIAGE_OUTPUT
from .faults import FaultKind
from .wire import Answer, ChatRequest, Ending

CHARS_PER_TOKEN = 4
FIXED_TEXT = "This is a canned answer from the fake model provider."
REFUSAL_TEXT = "I can't help with that request."
MALFORMED_TEXT = '{"category": "billing", "priority": '
WRONG_SCHEMA_TEXT = json.dumps({"label": "billing", "urgency": "high"})

_SUBJECT = re.compile(r"<subject>(.*?)</subject>", re.DOTALL)
_BODY = re.compile(r"<body>(.*?)</body>", re.DOTALL)


def tokens(text: str) -> int:
    """A token count derived from the text's length."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def compose_answer(fault: FaultKind, request: ChatRequest) -> Answer:
    """The answer to `request`, spoiled as `fault` says."""
    ending: Ending = "stop"
    if fault == "refusal":
        text, ending = REFUSAL_TEXT, "refusal"
    elif fault == "content_filter":
        text, ending = "", "content_filter"
    elif fault == "malformed":
        text = MALFORMED_TEXT
    elif fault == "wrong_schema":
        text = WRONG_SCHEMA_TEXT
    else:
        text = plausible_text(request)
    return Answer(
        text=text,
        ending=ending,
        input_tokens=tokens(request.system) + tokens(request.conversation),
        cached_input_tokens=tokens(request.system),
        output_tokens=tokens(text),
        usage_reported=fault != "no_usage",
    )


def plausible_text(request: ChatRequest) -> str:
    """Triage results for triage requests, a fixed sentence (as JSON if asked) otherwise."""
    if request.output_name == TRIAGE_OUTPUT.name:
        subject, body = _SUBJECT.search(request.last_user), _BODY.search(request.last_user)
        ticket = {
            "subject": subject[1].strip() if subject else "",
            "body": body[1].strip() if body else request.last_user,
        }
        return json.dumps(triage_rules(ticket), ensure_ascii=False)
    if request.output_name is not None:
        return json.dumps({"answer": FIXED_TEXT})
    return FIXED_TEXT
