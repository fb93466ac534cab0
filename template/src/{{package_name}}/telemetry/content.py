"""Prompts and answers as the GenAI conventions record them on spans, redacted first.

Only used when message content capture is switched on
(`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`): system instructions, the input
messages and the output message, each a JSON string, with personal data and secrets replaced.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..llm.port import Message, ModelResponse
from ..redaction import Redactor
from . import semconv


def input_attributes(messages: Sequence[Message], redactor: Redactor) -> dict[str, str]:
    """`gen_ai.system_instructions` and `gen_ai.input.messages` for a request's messages."""
    system = [
        {"type": "text", "content": redactor.redact(message.content)}
        for message in messages
        if message.role == "system"
    ]
    conversation = [
        {
            "role": message.role,
            "parts": [{"type": "text", "content": redactor.redact(message.content)}],
        }
        for message in messages
        if message.role != "system"
    ]
    return {
        semconv.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps(system, ensure_ascii=False),
        semconv.GEN_AI_INPUT_MESSAGES: json.dumps(conversation, ensure_ascii=False),
    }


def output_attribute(response: ModelResponse, redactor: Redactor) -> str:
    """`gen_ai.output.messages` for a model's answer."""
    message = {
        "role": "assistant",
        "parts": [{"type": "text", "content": redactor.redact(response.text)}],
        "finish_reason": response.finish_reason,
    }
    return json.dumps([message], ensure_ascii=False)
