"""Structured calls: ask a model for an answer of a given pydantic type, and log the call.

This is the one place a feature's request meets a model, so every call is validated and logged
the same way: one `model_call` line with the model, prompt version, tokens, latency and outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from .errors import InvalidModelOutputError, ModelError
from .port import Model, ModelRequest, ModelResponse

log = structlog.get_logger(__name__)

OutputT = TypeVar("OutputT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Generation(Generic[OutputT]):
    """A validated answer and the response it came from."""

    output: OutputT
    response: ModelResponse


async def generate(
    model: Model, request: ModelRequest, output_type: type[OutputT], *, prompt: str
) -> Generation[OutputT]:
    """Call `model` and validate its answer as `output_type`.

    Raises `InvalidModelOutputError` when the answer does not validate, and lets the model's own
    `ModelError` through; either way the call is logged before the error leaves.
    """
    started = time.perf_counter()
    try:
        response = await model.complete(request)
    except ModelError as exc:
        _log_call(model.name, prompt, started, outcome="error", error_type=type(exc).__name__)
        raise
    try:
        output = output_type.model_validate_json(response.text)
    except ValidationError as exc:
        _log_call(model.name, prompt, started, response=response, outcome="invalid_output")
        raise InvalidModelOutputError(
            f"{model.name} answered outside the {output_type.__name__} schema "
            f"({exc.error_count()} errors)"
        ) from exc
    _log_call(model.name, prompt, started, response=response, outcome="ok")
    return Generation(output=output, response=response)


def _log_call(
    model: str,
    prompt: str,
    started: float,
    *,
    outcome: str,
    response: ModelResponse | None = None,
    error_type: str | None = None,
) -> None:
    usage = response.usage if response else None
    log.info(
        "model_call",
        model=model,
        prompt_version=prompt,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cached_input_tokens=usage.cached_input_tokens if usage else 0,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        outcome=outcome,
        finish_reason=response.finish_reason if response else None,
        error_type=error_type,
    )
