"""The model request for a feature's input: the prompt rendered with it, fitted to a context
window."""

from __future__ import annotations

from collections.abc import Mapping

from ..feature import Feature
from ..guardrails.output import PROCESS_CANARY
from ..llm.context_window import input_budget
from ..llm.errors import ContextWindowExceededError
from ..llm.port import ModelRequest
from ..llm.tokens import BYTES_PER_TOKEN, request_tokens
from ..prompts import Prompt

TRUNCATION_MARKER = "\n[…truncated]"


def render(feature: Feature, prompt: Prompt, variables: Mapping[str, str]) -> ModelRequest:
    """The request `prompt` makes of `feature`'s inputs; user text is only ever variable values.

    The system message ends with the process's canary, so the output guardrails can tell when
    an answer leaks it; the prompt files stay as their owners wrote them.
    """
    return ModelRequest(
        messages=PROCESS_CANARY.mark(prompt.render(variables)),
        output=feature.output,
        settings=prompt.settings,
        inputs=variables,
    )


def fit(
    feature: Feature,
    prompt: Prompt,
    inputs: Mapping[str, str],
    request: ModelRequest,
    context_window: int | None,
) -> ModelRequest:
    """`request`, with the feature's `truncated` field cut when the model's context window is
    too small."""
    budget = input_budget(context_window, prompt.settings.max_output_tokens)
    excess = request_tokens(request.messages) - budget if budget is not None else 0
    if excess <= 0:
        return request
    variables = dict(inputs)
    text = variables[feature.truncated].encode("utf-8")
    keep = len(text) - excess * BYTES_PER_TOKEN - len(TRUNCATION_MARKER.encode("utf-8"))
    if keep <= 0:
        raise ContextWindowExceededError(
            f"the input does not fit even with an empty {feature.truncated}"
        )
    variables[feature.truncated] = text[:keep].decode("utf-8", errors="ignore") + TRUNCATION_MARKER
    return render(feature, prompt, variables)
