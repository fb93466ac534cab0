"""What both servers are asked to do: the same prompt, model and tickets, byte for byte."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from .service import CLASSICAL_MODEL

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROMPT_NAME = "triage"
PROMPT_VERSION = 1
MODEL = CLASSICAL_MODEL
"""The full service is configured with this model, and its `production` label serves this
prompt version, so both servers render the same prompt for the same model."""

TRIAGE_PATH = "/v1/triage"
SUBJECT = "Charged twice for my subscription this month, ref {ref}"
BODY = (
    "Hello, my card was charged twice for the monthly plan on the first of the month. "
    "The second payment shows on the invoice page as pending, and the receipt lists both. "
    "Could you refund the duplicate charge and confirm it will not happen again next month? "
    "Thank you."
)
_REF = "{ref}"


class Tickets:
    """`POST /v1/triage` requests whose subjects are never repeated within a run.

    Every request must reach the model: a repeated ticket would be answered from the service's
    response cache and make the full stack look faster than it is. Both servers get the same
    bytes, API key included (the bare app ignores it). They are built once around a counter,
    so producing a request costs the load generator next to nothing.
    """

    def __init__(self, api_key: str) -> None:
        body = json.dumps({"subject": SUBJECT, "body": BODY}).encode()
        self._before, found, self._after = body.partition(_REF.encode())
        if not found:
            raise ValueError(f"the subject must contain {_REF}")
        self._head = (
            f"POST {TRIAGE_PATH} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            f"Authorization: Bearer {api_key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self._numbers = itertools.count(1)

    def next(self) -> bytes:
        """The next request: a new ticket number in the subject."""
        body = b"%s%d%s" % (self._before, next(self._numbers), self._after)
        return b"%sContent-Length: %d\r\n\r\n%s" % (self._head, len(body), body)


def get_request(path: str) -> bytes:
    """A body-less GET, for health polls, the sink's counters and the client's ceiling."""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
