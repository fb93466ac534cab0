"""Moving a label in `labels.yaml` by editing its text, so the file stays the one people wrote.

The file is reviewed and committed like code: a promotion changes the one value it moves (or
adds one line for a new label), and keeps every comment, the order and the layout. The new text
replaces the file in one step, so the service, which re-reads the file when it changes, sees the
old labels or the new ones, never a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from .prompts import PromptError

_DEFAULT_INDENT = 2


def move_label(text: str, path: Path, name: str, label: str, version: int) -> str:
    """`text` with prompt `name`'s `label` set to `version`; the label is added if absent.

    `text` must already parse as a labels file (`prompts.parse_labels`).
    """
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):  # an empty file: `parse_labels` allows no other
        return _append(text, f"{name}:\n{' ' * _DEFAULT_INDENT}{label}: {version}\n")
    labels = next((node for key, node in root.value if key.value == name), None)
    if not isinstance(labels, yaml.MappingNode):  # the prompt has no labels yet
        if root.flow_style:
            raise PromptError(f"{path}:1: write one prompt per line to add {name}")
        return _append(text, f"{name}:\n{' ' * _indent(root)}{label}: {version}\n")
    current = next((node for key, node in labels.value if key.value == label), None)
    if current is not None:
        start, end = current.start_mark.index, current.end_mark.index
        return f"{text[:start]}{version}{text[end:]}"
    if labels.flow_style:
        line = labels.start_mark.line + 1
        raise PromptError(f"{path}:{line}: write {name}'s labels one per line to add {label}")
    indent = labels.value[0][0].start_mark.column
    line_end = text.find("\n", labels.value[-1][1].end_mark.index)
    if line_end == -1:
        return f"{text}\n{' ' * indent}{label}: {version}\n"
    return f"{text[: line_end + 1]}{' ' * indent}{label}: {version}\n{text[line_end + 1 :]}"


def _indent(root: yaml.MappingNode) -> int:
    """How far the file indents its labels: as its first prompt does."""
    for _, labels in root.value:
        if isinstance(labels, yaml.MappingNode) and labels.value and not labels.flow_style:
            return int(labels.value[0][0].start_mark.column)
    return _DEFAULT_INDENT


def _append(text: str, addition: str) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    return text + addition


def replace_file(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path` (atomic)."""
    descriptor, temporary_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(path.stat().st_mode & 0o777)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
