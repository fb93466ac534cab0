"""What the fake provider's wire protocols share: the request, the answer, the reply shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .faults import FaultKind

CHUNK_CHARS = 12
"""Streamed answers arrive in pieces of this many characters."""
SNAPSHOT_SUFFIX = "-2026-11-01"
"""Added to the requested model id, as providers name the dated snapshot that served an alias."""

Ending = Literal["stop", "refusal", "content_filter"]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """The parts of a provider request the fake's answer depends on."""

    model: str
    stream: bool
    system: str
    conversation: str
    last_user: str
    output_name: str | None
    """The structured output the request asks for, by schema or tool name."""
    stream_usage: bool = False
    """Whether a streamed answer should end with a usage event, where that is optional."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the fake model says, before a protocol puts it on the wire."""

    text: str
    ending: Ending
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    usage_reported: bool = True
    """Whether the answer carries its usage; some compatible servers never send it."""


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An HTTP error answer: status, JSON body, headers."""

    status: int
    body: Mapping[str, object]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamReply:
    """Server-sent events: the body, then the closing events a truncated stream never sends."""

    frames: list[bytes]
    closing: list[bytes]


class Wire(Protocol):
    """One provider's HTTP API, as the fake speaks it."""

    protocol: str
    path: str

    def parse(self, body: Mapping[str, Any]) -> ChatRequest: ...

    def error(self, fault: FaultKind, retry_after_seconds: float) -> ErrorReply: ...

    def completion(self, request: ChatRequest, answer: Answer) -> dict[str, Any]: ...

    def stream(self, request: ChatRequest, answer: Answer) -> StreamReply: ...


def sse(data: object, event: str | None = None) -> bytes:
    """One server-sent event carrying `data` as JSON (or as is, when it is a string)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def text_of(content: object) -> str:
    """The text of a message's content: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def pieces(text: str) -> list[str]:
    """`text` cut into the pieces a stream delivers."""
    return [text[start : start + CHUNK_CHARS] for start in range(0, len(text), CHUNK_CHARS)]
