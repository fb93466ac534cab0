"""Flag files (flagd's format) and prompt labels, changed the way an operator changes them."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def flag(
    variants: Mapping[str, Any], default: str | None, targeting: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One flag: its variants, the default variant and, optionally, a JsonLogic targeting rule."""
    definition: dict[str, Any] = {
        "state": "ENABLED",
        "variants": dict(variants),
        "defaultVariant": default,
    }
    if targeting is not None:
        definition["targeting"] = dict(targeting)
    return definition


def kill_switch(on: bool, targeting: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return flag({"on": True, "off": False}, "on" if on else "off", targeting)


def write_flags(path: Path, flags: Mapping[str, Any]) -> Path:
    """Write `flags` as the file's content, so that the service sees a new version of it."""
    return write_text(path, json.dumps({"flags": flags}, indent=2))


def write_text(path: Path, text: str) -> Path:
    """Replace the file's text with a modification time the service has not seen yet.

    The service notices a change by the file's modification time and size; two writes within
    the file system's clock tick could share both, so the time is moved on if it did not move.
    """
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(text, encoding="utf-8")
    if before is not None and path.stat().st_mtime_ns <= before:
        later = before + 1_000_000
        os.utime(path, ns=(later, later))
    return path


def prompts_with_a_canary(source: Path, destination: Path) -> Path:
    """A copy of the prompts in `source` with a version 2 of triage, labelled `canary`."""
    shutil.copytree(source, destination)
    first = (destination / "triage" / "v1.md").read_text(encoding="utf-8")
    second = first.replace("version: 1", "version: 2", 1)
    (destination / "triage" / "v2.md").write_text(second, encoding="utf-8")
    (destination / "labels.yaml").write_text(
        "triage:\n  production: 1\n  canary: 2\n", encoding="utf-8"
    )
    return destination
