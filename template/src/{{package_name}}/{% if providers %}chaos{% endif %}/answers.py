"""What the fake model answers: plausible results, or the bad answers a fault asks for.

A structured request for a registered feature's result is answered by that feature's offline
rules, on the fields found between `<field>` tags in the last user message (the whole message
stands in for the `truncated` field when it has no tags), so a service pointed at the fake
gives sensible results. Token counts are
derived from text lengths; the system prompt counts as cached input, as a stable prefix would.
"""

from __future__ import annotations

import json
import math
import re

from ..registry import registered
from .faults import FaultKind
from .wire import Answer, ChatRequest, Ending

CHARS_PER_TOKEN = 4
FIXED_TEXT = "This is a canned answer from the fake model provider."
REFUSAL_TEXT = "I can't help with that request."
MALFORMED_TEXT = '{"category": "billing", "priority": '
WRONG_SCHEMA_TEXT = json.dumps({"label": "billing", "urgency": "high"})


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
    """A feature's rules for its requests, a fixed sentence (as JSON if asked) otherwise."""
    features = {feature.output_schema: feature for feature in registered()}
    feature = features.get(request.output_name or "")
    if feature is not None:
        inputs = {}
        for name in feature.request.model_fields:
            tagged = re.search(rf"<{name}>(.*?)</{name}>", request.last_user, re.DOTALL)
            fallback = request.last_user if name == feature.truncated else ""
            inputs[name] = tagged[1].strip() if tagged else fallback
        return json.dumps(feature.rules(inputs), ensure_ascii=False)
    if request.output_name is not None:
        return json.dumps({"answer": FIXED_TEXT})
    return FIXED_TEXT
