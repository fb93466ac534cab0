"""Token estimates for budgeting, without a tokenizer dependency."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from .port import Message, ModelRequest, OutputSchema, Usage

BYTES_PER_TOKEN = 3
"""Conservative: English averages about 4 UTF-8 bytes a token, CJK about 3 bytes a token."""


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens `text` costs; errs on the high side so budgets hold."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def request_tokens(messages: Iterable[Message]) -> int:
    """Estimate the input tokens of a conversation."""
    return sum(estimate_tokens(message.content) for message in messages)


_schema_tokens: dict[str, int] = {}


def schema_tokens(output: OutputSchema | None) -> int:
    """Estimated tokens of the output schema sent with a request, counted once per schema."""
    if output is None:
        return 0
    if output.name not in _schema_tokens:
        _schema_tokens[output.name] = estimate_tokens(json.dumps(output.json_schema))
    return _schema_tokens[output.name]


def estimated_usage(request: ModelRequest, answer: str) -> Usage:
    """The usage of a call whose provider reported none: the messages and schema sent, and the
    answer received, estimated like a budget reservation's input (on the high side)."""
    return Usage(
        input_tokens=request_tokens(request.messages) + schema_tokens(request.output),
        output_tokens=estimate_tokens(answer),
        estimated=True,
    )
