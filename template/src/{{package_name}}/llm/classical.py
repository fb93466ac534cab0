"""The classical model: deterministic rules, no network, no key.

It is the offline default and the last link of every fallback chain, so the service can always
answer. Each feature registers rules for its output schema; the model dispatches on the schema
name and returns the rules' answer as JSON, exactly as a language model would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping

from .errors import ModelRequestError
from .port import ModelRequest, ModelResponse, StreamEvent, TextDelta, Usage
from .tokens import estimate_tokens

PROVIDER = "classical"
STREAM_CHUNK_CHARS = 16

Rules = Callable[[Mapping[str, str]], Mapping[str, object]]
"""Map a request's input variables to a structured answer."""


class ClassicalModel:
    """A `Model` that answers structured requests with registered rules."""

    def __init__(self, model_name: str, rules: Mapping[str, Rules]) -> None:
        self._name = f"{PROVIDER}:{model_name}"
        self._rules = dict(rules)

    @property
    def name(self) -> str:
        return self._name

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer from the rules; usage is an estimate, as nothing is billed."""
        if request.output is None or request.output.name not in self._rules:
            wanted = request.output.name if request.output else "free text"
            raise ModelRequestError(f"{self._name} has no rules for {wanted!r}")
        answer = self._rules[request.output.name](request.inputs)
        text = json.dumps(answer, ensure_ascii=False)
        prompt_text = "".join(message.content for message in request.messages)
        usage = Usage(
            input_tokens=estimate_tokens(prompt_text), output_tokens=estimate_tokens(text)
        )
        return ModelResponse(text=text, usage=usage, model=self._name)

    async def aclose(self) -> None:
        """Nothing to release: the rules hold no connections."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        response = await self.complete(request)
        for start in range(0, len(response.text), STREAM_CHUNK_CHARS):
            yield TextDelta(response.text[start : start + STREAM_CHUNK_CHARS])
        yield response
