"""Reports as text: CSV for spreadsheets and scripts, aligned columns for people.

The CLI's reports (`usage`, `shadow report`) share these, so they read and parse alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A header row, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def aligned(
    columns: Sequence[str], rows: Sequence[Sequence[str]], numeric: Collection[str]
) -> list[str]:
    """The header and rows, each column as wide as its widest cell; numbers to the right."""
    table = [list(columns), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    return [
        "  ".join(
            cell.rjust(width) if name in numeric else cell.ljust(width)
            for name, cell, width in zip(columns, row, widths, strict=True)
        ).rstrip()
        for row in table
    ]
