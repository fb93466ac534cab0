"""The contract between the service and any model: request in, text and usage out.

Features build a `ModelRequest`; adapters translate it to a provider's API and translate the
answer back into a `ModelResponse`. Nothing outside an adapter knows a provider's wire format,
so swapping models is configuration, not code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "refusal", "content_filter"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; user-supplied text only ever appears in `content`."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """The JSON schema a structured answer must satisfy, under a stable name."""

    name: str
    json_schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class GenerationSettings:
    """Sampling parameters; `None` leaves the provider's default in place."""

    temperature: float | None = None
    max_output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a model needs for one call.

    `inputs` are the variables the prompt was rendered from. Language models read `messages`;
    models that do not read prose (the classical model) read `inputs` instead.
    """

    messages: tuple[Message, ...]
    output: OutputSchema | None = None
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    inputs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, normalised across providers: `input_tokens` counts every input token,
    those read from and written to the provider's prompt cache included."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    """Input read from the provider's prompt cache, billed below the input price."""
    cache_write_tokens: int = 0
    """Input written to the provider's prompt cache, billed above the input price by some."""
    estimated: bool = False
    """The provider reported no usage (some self-hosted servers never do), so the counts are the
    service's estimate (`llm.tokens`): priced and recorded as such, never a failure."""


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """A finished answer: its text (JSON when a schema was asked for) and its token usage."""

    text: str
    usage: Usage
    model: str
    finish_reason: FinishReason = "stop"


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of text as it streams in."""

    text: str


StreamEvent = TextDelta | ModelResponse
"""A stream yields `TextDelta`s and ends with exactly one `ModelResponse`."""


class Model(Protocol):
    """What every adapter implements."""

    @property
    def name(self) -> str:
        """The `provider:model` string this model was configured with."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer `request` in one piece."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Answer `request` incrementally; the last event is the full `ModelResponse`."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once, when the service shuts down."""
        ...
