"""Usage lines as a fixed-width table for people, or CSV for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from .usage import UsageLine

COLUMNS = (
    "day",
    "tenant",
    "feature",
    "model",
    "calls",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "unpriced_calls",
    "cache_hits",
)
_NUMERIC = frozenset(COLUMNS[4:])


def _cells(line: UsageLine) -> list[str]:
    return [
        line.day.isoformat(),
        line.tenant,
        line.feature,
        line.model,
        str(line.calls),
        str(line.input_tokens),
        str(line.output_tokens),
        f"{line.cost_usd:.9f}",
        str(line.unpriced_calls),
        str(line.cache_hits),
    ]


def csv_report(lines: Sequence[UsageLine]) -> str:
    """One header row, then one row per line; costs exact, to the nano-dollar."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_cells(line) for line in lines)
    return buffer.getvalue()


def table_report(lines: Sequence[UsageLine]) -> str:
    """Aligned columns (numbers to the right) and a total cost line."""
    if not lines:
        return "No usage in this period.\n"
    rows = [list(COLUMNS), *(_cells(line) for line in lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    rendered = [
        "  ".join(
            cell.rjust(width) if name in _NUMERIC else cell.ljust(width)
            for name, cell, width in zip(COLUMNS, row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
    total = sum((line.cost_usd for line in lines), Decimal(0))
    return "\n".join([*rendered, f"total cost: {total:.9f} USD"]) + "\n"
