"""An OpenFeature provider for a flagd-format JSON file, evaluated in process, hot-reloaded.

flagd's flag format is the lingua franca of OpenFeature: states, variants, a default variant and
JsonLogic targeting with `fractional` percentage rollouts (sticky per targeting key) and
comparisons on any context attribute. flagd's own evaluator (`openfeature-flagd-core`) runs it
here, in the process, so there is no flagd server or gRPC dependency. The file is checked at
most once a second during evaluations; a changed file takes effect at once, without a restart,
and an invalid one is refused: the last good flags stay in force, and the refusal is logged
once per version of the file.

flagd itself accepts a few mistakes that would make a flag quietly serve its caller's default
(a `defaultVariant` naming no variant, a file without `flags`); they are refused here, as is
anything the owner's `check` rejects.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.provider import AbstractProvider, Metadata

log = structlog.get_logger(__name__)

CHECK_INTERVAL_SECONDS = 1.0

ChangeListener = Callable[[Sequence[str], str], None]
"""Told the keys of the flags that changed and the new file's SHA-256."""

FlagCheck = Callable[[Mapping[str, Any]], None]
"""Given a file's `flags` object; raises `ValueError`, naming the flag, to refuse the file."""


class FlagFileError(ValueError):
    """The flag file is missing, not JSON, or not valid flagd configuration."""


class FlagFileProvider(AbstractProvider):
    """Resolves flags from `path`, re-reading it when it changes."""

    def __init__(
        self,
        path: Path,
        *,
        check: FlagCheck | None = None,
        on_change: ChangeListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._path = path
        self._check = check
        self._on_change = on_change
        self._clock = clock
        self._core = FlagdCore()
        self._digest: str | None = None
        self._checked_at = clock()
        self._load(self._read())

    def get_metadata(self) -> Metadata:
        return Metadata(name="flag-file")

    @property
    def digest(self) -> str | None:
        """The SHA-256 of the file as last read: it changes whenever the flags may have."""
        return self._digest

    def _read(self) -> tuple[str, bytes]:
        """The file's SHA-256 and content. A digest, not a modification time: those are coarse,
        and two quick edits of the same size would look like one."""
        try:
            content = self._path.read_bytes()
        except OSError as exc:
            raise FlagFileError(f"{self._path}: {exc.strerror}") from exc
        return hashlib.sha256(content).hexdigest(), content

    def _load(self, read: tuple[str, bytes]) -> list[str]:
        digest, content = read
        try:
            configuration = json.loads(content)
            flags = configuration.get("flags") if isinstance(configuration, dict) else None
            if not isinstance(flags, dict):
                raise ValueError("expected a JSON object with a `flags` object (flagd's format)")
            _check_default_variants(flags)
            if self._check is not None:
                self._check(flags)
            changed = self._core.set_flags_and_get_changed_keys(configuration)
        except Exception as exc:  # json, a check, or flagd's ParseError: each names the problem
            raise FlagFileError(f"{self._path}: {exc}") from exc
        finally:
            self._digest = digest  # a refused version is reported once, not at every check
        return changed

    def refresh(self) -> None:
        """Reload the file if it changed since the last check (at most once a second)."""
        now = self._clock()
        if now - self._checked_at < CHECK_INTERVAL_SECONDS:
            return
        self._checked_at = now
        try:
            digest, content = self._read()
            if digest == self._digest:
                return
            changed = self._load((digest, content))
        except FlagFileError as exc:
            log.error("flags_reload_refused", error=str(exc))
            return
        log.info("flags_reloaded", changed=changed, sha256=digest)
        if changed and self._on_change is not None:
            self._on_change(changed, digest)

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        self.refresh()
        return self._core.resolve_boolean_value(flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        self.refresh()
        return self._core.resolve_string_value(flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        self.refresh()
        return self._core.resolve_integer_value(flag_key, default_value, evaluation_context)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        self.refresh()
        return self._core.resolve_float_value(flag_key, default_value, evaluation_context)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        self.refresh()
        return self._core.resolve_object_value(flag_key, default_value, evaluation_context)


def _check_default_variants(flags: Mapping[str, Any]) -> None:
    """flagd would answer an unknown `defaultVariant` with an error, hence the caller's default."""
    for key, flag in flags.items():
        if not isinstance(flag, dict) or not isinstance(flag.get("variants"), dict):
            continue  # flagd's own parsing names what is missing
        default = flag.get("defaultVariant")
        if default is None or default == "":
            continue  # no default variant: the caller's default
        name = str(default).lower() if isinstance(default, bool) else str(default)
        if name not in flag["variants"]:
            raise ValueError(f"{key}: defaultVariant {default!r} is not one of its variants")
