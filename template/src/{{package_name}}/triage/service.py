"""Triage business logic: render the prompt, ask the model, apply the review policy."""

from __future__ import annotations

from dataclasses import dataclass

from ..llm.port import Model, ModelRequest
from ..llm.structured import generate
from ..prompts import Prompt
from .schemas import TRIAGE_OUTPUT, TriageRequest, TriageResponse, TriageResult


@dataclass(frozen=True, slots=True)
class TriageService:
    """Triage tickets with one model and one prompt version."""

    model: Model
    prompt: Prompt
    review_threshold: float

    async def triage(self, ticket: TriageRequest) -> TriageResponse:
        """Classify `ticket`; answers under the confidence threshold go to a human."""
        variables = {"subject": ticket.subject, "body": ticket.body}
        request = ModelRequest(
            messages=self.prompt.render(variables),
            output=TRIAGE_OUTPUT,
            settings=self.prompt.settings,
            inputs=variables,
        )
        generation = await generate(self.model, request, TriageResult, prompt=self.prompt.ref)
        result = generation.output
        return TriageResponse(
            category=result.category,
            priority=result.priority,
            summary=result.summary,
            needs_human=result.needs_human or result.confidence < self.review_threshold,
            confidence=result.confidence,
            model=generation.response.model,
            prompt_version=self.prompt.ref,
        )
