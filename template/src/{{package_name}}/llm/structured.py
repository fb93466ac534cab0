"""Structured calls: ask one model for an answer of a given pydantic type.

Each call is reported to the request's `CallObserver` with its outcome (a usable answer, one
outside the schema, a refusal, a failure, or cut off). An answer that does not validate gets one
repair attempt: the model sees its answer and the validation errors and answers again. Refusals
and content filters become a `ModelRefusalError`, never an exception the API cannot explain.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import InvalidModelOutputError, ModelRefusalError
from .observer import Attempt, CallInProgress, CallObserver
from .port import Message, Model, ModelRequest, ModelResponse, TextDelta

OutputT = TypeVar("OutputT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Generation(Generic[OutputT]):
    """A validated answer and the response it came from."""

    output: OutputT
    response: ModelResponse


async def generate(
    model: Model, request: ModelRequest, output_type: type[OutputT], observer: CallObserver
) -> Generation[OutputT]:
    """Call `model`, validate its answer as `output_type`, and repair it once if needed."""
    call, response = await _complete(model, request, observer, "first")
    try:
        return Generation(_parse(call, response, output_type), response)
    except _RepairableOutputError as problem:
        repair = _repair_request(request, response.text, problem.errors)
        call, response = await _complete(model, repair, observer, "repair")
        try:
            return Generation(_parse(call, response, output_type), response)
        except _RepairableOutputError as still_invalid:
            raise still_invalid.as_error() from None


async def stream(
    model: Model, request: ModelRequest, output_type: type[OutputT], observer: CallObserver
) -> AsyncGenerator[TextDelta | Generation[OutputT]]:
    """Stream `model`'s answer as text deltas, then yield the validated `Generation`.

    There is no repair here: the text has already reached the client.
    """
    call = await observer.call_started(model.name, request, "stream")
    started = time.perf_counter()
    first_token_ms: float | None = None
    source = model.stream(request)
    finished = False
    try:
        async for event in source:
            if isinstance(event, TextDelta):
                if first_token_ms is None:
                    first_token_ms = round((time.perf_counter() - started) * 1000, 2)
                yield event
                continue
            finished = True
            try:
                output = _parse(call, event, output_type, first_token_ms)
            except _RepairableOutputError as problem:
                raise problem.as_error() from None
            yield Generation(output, event)
            return
    except Exception as exc:
        if not finished:
            finished = True
            call.finished(None, "error", error_type=type(exc).__name__)
        raise
    finally:
        if not finished:  # cancelled, or the consumer stopped early
            call.finished(None, "cancelled", first_token_ms=first_token_ms)
        if isinstance(source, AsyncGenerator):
            await source.aclose()  # close the upstream connection now, not at garbage collection


async def _complete(
    model: Model, request: ModelRequest, observer: CallObserver, attempt: Attempt
) -> tuple[CallInProgress, ModelResponse]:
    call = await observer.call_started(model.name, request, attempt)
    try:
        response = await model.complete(request)
    except Exception as exc:
        call.finished(None, "error", error_type=type(exc).__name__)
        raise
    except BaseException:  # cancelled: the deadline passed or the client went away
        call.finished(None, "cancelled")
        raise
    return call, response


def _parse(
    call: CallInProgress,
    response: ModelResponse,
    output_type: type[OutputT],
    first_token_ms: float | None = None,
) -> OutputT:
    """Validate the answer and report the call's outcome; raise on refusal or invalid output."""
    if response.finish_reason in ("refusal", "content_filter"):
        call.finished(response, "refusal", first_token_ms=first_token_ms)
        raise ModelRefusalError(f"{response.model} declined to answer ({response.finish_reason})")
    try:
        output = output_type.model_validate_json(response.text)
    except ValidationError as exc:
        call.finished(response, "invalid_output", first_token_ms=first_token_ms)
        details = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'answer'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise _RepairableOutputError(response.model, output_type, details) from exc
    call.finished(response, "ok", first_token_ms=first_token_ms)
    return output


class _RepairableOutputError(Exception):
    """Validation failed; the errors can be shown to the model."""

    def __init__(self, model: str, output_type: type[BaseModel], errors: str) -> None:
        super().__init__(errors)
        self.errors = errors
        self._message = f"{model} answered outside the {output_type.__name__} schema"

    def as_error(self) -> InvalidModelOutputError:
        return InvalidModelOutputError(self._message)


def _repair_request(request: ModelRequest, answer: str, errors: str) -> ModelRequest:
    feedback = (
        f"Your answer did not match the required JSON schema: {errors}. "
        "Answer again with only the corrected JSON object."
    )
    messages = (*request.messages, Message("assistant", answer), Message("user", feedback))
    return replace(request, messages=messages)
