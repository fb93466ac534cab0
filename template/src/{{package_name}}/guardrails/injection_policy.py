"""What a feature does with user text that reads as prompt injection: its configured action.

- `block`: refuse the request (a 422 problem that does not repeat the text);
- `flag`: answer, but mark the answer `needs_human` so it waits in the review queue;
- `strip`: replace the lines where a signal fired with a marker, then answer; the model, the
  cache, the shadow run and the recorded answer all see the stripped text.

Every screening is counted (`app.guardrail.injection`, by feature and action, `allow` under the
threshold), and each detection logs `injection_detected` with its score and signals, never the
text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import structlog

from ..telemetry import semconv
from .injection import scan, strip_lines

if TYPE_CHECKING:
    from ..telemetry.metrics import ServiceMetrics

InjectionAction = Literal["block", "flag", "strip"]
"""What a feature does with text scoring at or over the threshold."""

DEFAULT_ACTION: InjectionAction = "flag"
"""The action of a feature the policy does not name."""

STRIPPED_MARKER = "[removed by the input guardrail]"
"""What the model sees instead of a stripped line."""

log = structlog.get_logger(__name__)


class InjectionBlockedError(Exception):
    """The request's text reads as prompt injection and its feature's action is `block`."""

    def __init__(self, feature: str) -> None:
        super().__init__(f"{feature}: input refused as prompt injection")
        self.feature = feature


@dataclass(frozen=True, slots=True)
class Screening:
    """The outcome for one request: the text the model may see, and whether to flag the answer."""

    fields: Mapping[str, str]
    flagged: bool


@dataclass(frozen=True, slots=True)
class InjectionPolicy:
    """Screens each request's user text and applies its feature's action."""

    threshold: float
    metrics: ServiceMetrics
    actions: Mapping[str, InjectionAction] = field(default_factory=dict)

    def screen(self, feature: str, fields: Mapping[str, str]) -> Screening:
        """Screen `fields` (field name to normalised text) for `feature`.

        Raises InjectionBlockedError when they score at or over the threshold and the feature
        blocks.
        """
        found = scan(fields.values())
        if found.score < self.threshold:
            self._count(feature, "allow")
            return Screening(fields, flagged=False)
        action = self.actions.get(feature, DEFAULT_ACTION)
        self._count(feature, action)
        log.warning(
            "injection_detected",
            feature=feature,
            score=found.score,
            signals=list(found.signals),
            action=action,
        )
        if action == "block":
            raise InjectionBlockedError(feature)
        if action == "strip":
            stripped = {
                name: strip_lines(text, found.signals, STRIPPED_MARKER)
                for name, text in fields.items()
            }
            return Screening(stripped, flagged=False)
        return Screening(fields, flagged=True)

    def _count(self, feature: str, action: str) -> None:
        self.metrics.injection_screenings.add(
            1, {semconv.APP_FEATURE: feature, semconv.APP_GUARDRAIL_ACTION: action}
        )
