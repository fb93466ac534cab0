"""Times to and from the database: every stored time is UTC, and SQLite keeps no zone."""

from __future__ import annotations

import datetime as dt


def utc(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC; a naive one (as SQLite returns them, or a date typed by a person) is
    taken to be UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
