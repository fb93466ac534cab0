"""The model request for a ticket: the prompt rendered with it, fitted to a context window."""

from __future__ import annotations

from ..guardrails.output import PROCESS_CANARY
from ..llm.context_window import input_budget
from ..llm.errors import ContextWindowExceededError
from ..llm.port import ModelRequest
from ..llm.tokens import BYTES_PER_TOKEN, request_tokens
from ..prompts import Prompt
from .schemas import TRIAGE_OUTPUT, TriageRequest

TRUNCATION_MARKER = "\n[…truncated]"


def render(prompt: Prompt, subject: str, body: str) -> ModelRequest:
    """The request `prompt` makes of this ticket; the ticket is only ever variable values.

    The system message ends with the process's canary, so the output guardrails can tell when
    an answer leaks it; the prompt files stay as their owners wrote them.
    """
    variables = {"subject": subject, "body": body}
    return ModelRequest(
        messages=PROCESS_CANARY.mark(prompt.render(variables)),
        output=TRIAGE_OUTPUT,
        settings=prompt.settings,
        inputs=variables,
    )


def fit(
    prompt: Prompt, ticket: TriageRequest, request: ModelRequest, context_window: int | None
) -> ModelRequest:
    """`request`, with the body truncated when the model's context window is too small."""
    budget = input_budget(context_window, prompt.settings.max_output_tokens)
    excess = request_tokens(request.messages) - budget if budget is not None else 0
    if excess <= 0:
        return request
    body = ticket.body.encode("utf-8")
    keep = len(body) - excess * BYTES_PER_TOKEN - len(TRUNCATION_MARKER.encode("utf-8"))
    if keep <= 0:
        raise ContextWindowExceededError("the ticket does not fit even with an empty body")
    truncated = body[:keep].decode("utf-8", errors="ignore") + TRUNCATION_MARKER
    return render(prompt, ticket.subject, truncated)
