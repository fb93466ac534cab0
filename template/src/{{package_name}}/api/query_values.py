"""Dates and times in query strings: ISO 8601, nothing else.

Pydantic's lax parsing also reads a bare number as a Unix timestamp, so `?since=0` would mean
1 January 1970. In a query string a number is far more likely a mistake, and a silently wrong
range is worse than a clear 422, so numbers are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("expected an ISO 8601 date or date-time, not a number")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_not_a_number)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_not_a_number)]
