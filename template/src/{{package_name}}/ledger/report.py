"""Usage lines as a fixed-width table for people, or CSV for spreadsheets and scripts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..text_tables import aligned, csv_text
from .usage import UsageLine

COLUMNS = (
    "day",
    "tenant",
    "feature",
    "model",
    "traffic",
    "key",
    "calls",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "unpriced_calls",
    "cache_hits",
    "estimated_calls",
)
_NUMERIC = frozenset(COLUMNS[COLUMNS.index("calls") :])


def _cells(line: UsageLine) -> list[str]:
    return [
        line.day.isoformat(),
        line.tenant,
        line.feature,
        line.model,
        "shadow" if line.shadow else "live",
        "tenant" if line.tenant_key else "service",
        str(line.calls),
        str(line.input_tokens),
        str(line.output_tokens),
        f"{line.cost_usd:.9f}",
        str(line.unpriced_calls),
        str(line.cache_hits),
        str(line.estimated_calls),
    ]


def csv_report(lines: Sequence[UsageLine]) -> str:
    """One header row, then one row per line; costs exact, to the nano-dollar."""
    return csv_text(COLUMNS, [_cells(line) for line in lines])


def table_report(lines: Sequence[UsageLine]) -> str:
    """Aligned columns (numbers to the right), the total cost, and the shadow calls' share."""
    if not lines:
        return "No usage in this period.\n"
    rendered = aligned(COLUMNS, [_cells(line) for line in lines], _NUMERIC)
    total = sum((line.cost_usd for line in lines), Decimal(0))
    rendered.append(f"total cost: {total:.9f} USD")
    if any(line.shadow for line in lines):
        shadow = sum((line.cost_usd for line in lines if line.shadow), Decimal(0))
        rendered.append(f"of which shadow: {shadow:.9f} USD")
    return "\n".join(rendered) + "\n"
