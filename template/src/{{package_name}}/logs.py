"""Structured JSON logs for the service and the libraries it runs on, with secrets redacted.

Every line is one JSON object on stdout. Values bound with `structlog.contextvars` during a
request (its id, trace and span ids, the tenant) are merged into every line logged while it is
handled, including lines from the standard `logging` module (uvicorn's, the SDKs'). Every value
of every line, tracebacks included, passes through the redactor last: personal data and the
service's own secrets never reach the log stream, whoever logged them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import Processor, WrappedLogger

from .redaction import Redactor

LogFormat = Literal["json", "console"]


class RedactProcessor:
    """A structlog processor that redacts every value of an event.

    Most values repeat from line to line (event names, model names, tenants, outcomes), so
    short strings are remembered with their redacted form and only new ones are scanned.
    """

    CACHED_LENGTH = 64
    CACHE_SIZE = 4096

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._seen: dict[str, str] = {}

    def __call__(
        self, _logger: WrappedLogger, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        return {key: self._redact(value) for key, value in event.items()}

    def _redact(self, value: object) -> object:
        if not isinstance(value, str):
            return self._redactor.redact_value(value)
        if len(value) > self.CACHED_LENGTH:
            return self._redactor.redact(value)
        redacted = self._seen.get(value)
        if redacted is None:
            redacted = self._redactor.redact(value)
            if len(self._seen) >= self.CACHE_SIZE:
                self._seen.clear()
            self._seen[value] = redacted
        return redacted


def configure_logging(
    level: str, log_format: LogFormat, redactor: Redactor, stream: TextIO = sys.stdout
) -> None:
    """Route structlog and standard-library logging to `stream`, one redacted event per line."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    # Redaction runs last on what callers wrote; the timestamp is the service's own, added after.
    finish: list[Processor] = [
        structlog.processors.format_exc_info,
        RedactProcessor(redactor),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(serializer=_json)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False),
    ]
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, *finish],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Requests are logged once, by the service's own middleware.
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic announces each of its plugins at start-up; its migrations still log at info.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _json(event: object, **_: object) -> str:
    """orjson: several times faster than the standard library on every line."""
    return orjson.dumps(event, default=str).decode()
