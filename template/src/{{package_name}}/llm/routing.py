"""Rule-based routing: pick the primary model from simple facts about the input.

Rules are data in settings, tried in order; the first that matches names the primary model,
and the fallback chain follows it as usual. Example: short tickets to a small model, long ones
to a large one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class RoutingRule(BaseModel):
    """Route inputs whose length falls within [min_input_chars, max_input_chars] to `model`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    min_input_chars: Annotated[int, Field(ge=0)] = 0
    max_input_chars: Annotated[int, Field(ge=0)] | None = None

    def matches(self, input_chars: int) -> bool:
        upper_ok = self.max_input_chars is None or input_chars <= self.max_input_chars
        return self.min_input_chars <= input_chars and upper_ok


def route(rules: Sequence[RoutingRule], input_chars: int, default: str) -> str:
    """The model of the first matching rule, else `default`."""
    return next((rule.model for rule in rules if rule.matches(input_chars)), default)
