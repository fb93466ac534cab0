"""Structured calls: ask one model for an answer of a given pydantic type.

Every call is logged the same way, as one `model_call` line (model, prompt version, tokens,
latency, outcome). An answer that does not validate gets one repair attempt: the model sees its
answer and the validation errors and answers again. Refusals and content filters become a
`ModelRefusalError`, never an exception the API cannot explain.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from .errors import (
    InvalidModelOutputError,
    ModelError,
    ModelRefusalError,
    ModelRequestError,
    ModelUnavailableError,
)
from .port import Message, Model, ModelRequest, ModelResponse, TextDelta

log = structlog.get_logger(__name__)

OutputT = TypeVar("OutputT", bound=BaseModel)
Outcome = Literal["ok", "invalid_output", "refusal", "error"]


@dataclass(frozen=True, slots=True)
class Generation(Generic[OutputT]):
    """A validated answer and the response it came from."""

    output: OutputT
    response: ModelResponse


async def generate(
    model: Model, request: ModelRequest, output_type: type[OutputT], *, prompt: str
) -> Generation[OutputT]:
    """Call `model`, validate its answer as `output_type`, and repair it once if needed."""
    call = await _Call.complete(model, request, prompt, "first")
    try:
        return Generation(call.parse(output_type), call.response)
    except _RepairableOutputError as problem:
        repair = _repair_request(request, call.response.text, problem.errors)
        repaired = await _Call.complete(model, repair, prompt, "repair")
        try:
            return Generation(repaired.parse(output_type), repaired.response)
        except _RepairableOutputError as still_invalid:
            raise still_invalid.as_error() from None


async def stream(
    model: Model, request: ModelRequest, output_type: type[OutputT], *, prompt: str
) -> AsyncGenerator[TextDelta | Generation[OutputT]]:
    """Stream `model`'s answer as text deltas, then yield the validated `Generation`.

    There is no repair here: the text has already reached the client.
    """
    started = time.perf_counter()
    first_token_ms: float | None = None
    source = model.stream(request)
    try:
        async for event in source:
            if isinstance(event, TextDelta):
                if first_token_ms is None:
                    first_token_ms = _elapsed_ms(started)
                yield event
                continue
            call = _Call(model.name, prompt, event, started, "stream", first_token_ms)
            try:
                output = call.parse(output_type)
            except _RepairableOutputError as problem:
                raise problem.as_error() from None
            yield Generation(output, event)
            return
    except (ModelUnavailableError, ModelRequestError) as exc:
        _log(model.name, prompt, started, "error", error_type=type(exc).__name__)
        raise
    finally:
        if isinstance(source, AsyncGenerator):
            await source.aclose()  # close the upstream connection now, not at garbage collection


class _RepairableOutputError(Exception):
    """Validation failed; the errors can be shown to the model."""

    def __init__(self, model: str, output_type: type[BaseModel], errors: str) -> None:
        super().__init__(errors)
        self.errors = errors
        self._message = f"{model} answered outside the {output_type.__name__} schema"

    def as_error(self) -> InvalidModelOutputError:
        return InvalidModelOutputError(self._message)


@dataclass(frozen=True, slots=True)
class _Call:
    """One finished model call, logged once its answer has been judged."""

    model: str
    prompt: str
    response: ModelResponse
    started: float
    attempt: str
    first_token_ms: float | None = None

    @classmethod
    async def complete(
        cls, model: Model, request: ModelRequest, prompt: str, attempt: str
    ) -> _Call:
        started = time.perf_counter()
        try:
            response = await model.complete(request)
        except ModelError as exc:
            _log(
                model.name, prompt, started, "error", error_type=type(exc).__name__, attempt=attempt
            )
            raise
        return cls(model.name, prompt, response, started, attempt)

    def parse(self, output_type: type[OutputT]) -> OutputT:
        """Validate the answer, log the call's outcome, raise on refusal or invalid output."""
        if self.response.finish_reason in ("refusal", "content_filter"):
            self._log("refusal")
            raise ModelRefusalError(
                f"{self.model} declined to answer ({self.response.finish_reason})"
            )
        try:
            output = output_type.model_validate_json(self.response.text)
        except ValidationError as exc:
            self._log("invalid_output")
            details = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'answer'}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise _RepairableOutputError(self.model, output_type, details) from exc
        self._log("ok")
        return output

    def _log(self, outcome: Outcome) -> None:
        _log(
            self.model,
            self.prompt,
            self.started,
            outcome,
            response=self.response,
            attempt=self.attempt,
            first_token_ms=self.first_token_ms,
        )


def _repair_request(request: ModelRequest, answer: str, errors: str) -> ModelRequest:
    feedback = (
        f"Your answer did not match the required JSON schema: {errors}. "
        "Answer again with only the corrected JSON object."
    )
    messages = (*request.messages, Message("assistant", answer), Message("user", feedback))
    return replace(request, messages=messages)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _log(
    model: str,
    prompt: str,
    started: float,
    outcome: Outcome,
    *,
    response: ModelResponse | None = None,
    error_type: str | None = None,
    attempt: str = "first",
    first_token_ms: float | None = None,
) -> None:
    usage = response.usage if response else None
    log.info(
        "model_call",
        model=model,
        response_model=response.model if response else None,
        prompt_version=prompt,
        attempt=attempt,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cached_input_tokens=usage.cached_input_tokens if usage else 0,
        latency_ms=_elapsed_ms(started),
        first_token_ms=first_token_ms,
        outcome=outcome,
        finish_reason=response.finish_reason if response else None,
        error_type=error_type,
    )
