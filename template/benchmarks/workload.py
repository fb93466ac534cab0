"""What both servers are asked to do: the same prompt, model and tickets, byte for byte."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROMPT_NAME = "triage"
PROMPT_VERSION = 1
"""The full service's `production` label serves this prompt version, so both servers render
the same prompt for the same model."""
UPSTREAM_URL = "BENCH_UPSTREAM_URL"
"""The variable that gives a bare app the fake upstream's root URL."""


@dataclass(frozen=True)
class Baseline:
    """What the full service is measured against (`baseline.py` says which)."""

    label: str
    """How the report names the bare server."""
    bare_app: str
    """The bare app, as uvicorn imports it: `module:attribute`."""
    model: str
    """The full service's model, as `provider:model`; the bare app calls the same."""
    upstream_environment: Callable[[str], Mapping[str, str]] | None = field(default=None)
    """With a provider: the variables that send the service's adapter to the fake upstream at
    the given root URL (the bare app reads `UPSTREAM_URL`). None: no upstream."""

TRIAGE_PATH = "/v1/triage"
SUBJECT = "Charged twice for my subscription this month, ref {ref}"
BODY = (
    "Hello, my card was charged twice for the monthly plan on the first of the month. "
    "The second payment shows on the invoice page as pending, and the receipt lists both. "
    "Could you refund the duplicate charge and confirm it will not happen again next month? "
    "Thank you."
)
_REF = "{ref}"


class Requests(Protocol):
    """What a measurement sends: a new request each time, or the same one again."""

    def next(self) -> bytes: ...

    def repeated(self) -> bytes: ...


class Tickets:
    """`POST /v1/triage` requests whose subjects are never repeated within a run (`next`), and
    one that always is (`repeated`), to measure the response cache on its own.

    A request measuring the stack must reach the model: a repeated ticket would be answered
    from the service's response cache and make the full stack look faster than it is. Both
    servers get the same
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
        return self._ticket(next(self._numbers))

    def repeated(self) -> bytes:
        """Ticket 0, which `next` never sends: asked again and again, it is answered from the
        response cache after its first time."""
        return self._ticket(0)

    def _ticket(self, number: int) -> bytes:
        body = b"%s%d%s" % (self._before, number, self._after)
        return b"%sContent-Length: %d\r\n\r\n%s" % (self._head, len(body), body)


def get_request(path: str) -> bytes:
    """A body-less GET, for health polls, the sink's counters and the client's ceiling."""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
