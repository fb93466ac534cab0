"""An OpenFeature provider for a flagd-format JSON file, evaluated in process, hot-reloaded.

flagd's flag format is the lingua franca of OpenFeature: states, variants, a default variant and
JsonLogic targeting with `fractional` percentage rollouts (sticky per targeting key) and
comparisons on any context attribute. flagd's own evaluator (`openfeature-flagd-core`) runs it
here, in the process, so there is no flagd server or gRPC dependency. The file is checked at
most once a second during evaluations; a changed file takes effect at once, without a restart,
and an invalid one is refused (the last good flags stay in force, and the refusal is logged).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import structlog
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.provider import AbstractProvider, Metadata

log = structlog.get_logger(__name__)

CHECK_INTERVAL_SECONDS = 1.0

ChangeListener = Callable[[Sequence[str], str], None]
"""Told the keys of the flags that changed and the new file's SHA-256."""


class FlagFileError(ValueError):
    """The flag file is missing, not JSON, or not valid flagd configuration."""


class FlagFileProvider(AbstractProvider):
    """Resolves flags from `path`, re-reading it when it changes."""

    def __init__(
        self,
        path: Path,
        *,
        on_change: ChangeListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._path = path
        self._on_change = on_change
        self._clock = clock
        self._core = FlagdCore()
        self._stamp: tuple[int, int] | None = None
        self._checked_at = clock()
        self._load(self._read())

    def get_metadata(self) -> Metadata:
        return Metadata(name="flag-file")

    def _read(self) -> tuple[tuple[int, int], bytes]:
        try:
            stat = self._path.stat()
            return (stat.st_mtime_ns, stat.st_size), self._path.read_bytes()
        except OSError as exc:
            raise FlagFileError(f"{self._path}: {exc.strerror}") from exc

    def _load(self, read: tuple[tuple[int, int], bytes]) -> list[str]:
        stamp, content = read
        try:
            changed = self._core.set_flags_and_get_changed_keys(json.loads(content))
        except Exception as exc:  # json, or flagd's ParseError: the message names the problem
            raise FlagFileError(f"{self._path}: {exc}") from exc
        self._stamp = stamp
        return changed

    def _refresh(self) -> None:
        """Reload the file if it changed since the last check (at most once a second)."""
        now = self._clock()
        if now - self._checked_at < CHECK_INTERVAL_SECONDS:
            return
        self._checked_at = now
        try:
            stamp, content = self._read()
            if stamp == self._stamp:
                return
            changed = self._load((stamp, content))
        except FlagFileError as exc:
            log.error("flags_reload_failed", error=str(exc))
            return
        digest = hashlib.sha256(content).hexdigest()
        log.info("flags_reloaded", changed=changed, sha256=digest)
        if changed and self._on_change is not None:
            self._on_change(changed, digest)

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        self._refresh()
        return self._core.resolve_boolean_value(flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        self._refresh()
        return self._core.resolve_string_value(flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        self._refresh()
        return self._core.resolve_integer_value(flag_key, default_value, evaluation_context)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        self._refresh()
        return self._core.resolve_float_value(flag_key, default_value, evaluation_context)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        self._refresh()
        return self._core.resolve_object_value(flag_key, default_value, evaluation_context)
