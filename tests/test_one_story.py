"""The messages Copier prints, the generated README and docs/updating.md tell one story.

Each names `make` targets a new team will type. Every one must exist in the generated
Makefile, the README's table must list the ones the messages give, and the command to run
before committing (and after an update) must be the same everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .helpers import TEMPLATE_ROOT, render

MAKE = re.compile(r"(?:^\s*|`|&&\s*)make ([a-z][a-z-]*)", re.MULTILINE)
"""A command: in backticks, at the start of a line, or after `&&` (not "make it yours")."""
CHECK_BEFORE_COMMITTING = "all"


def _targets(text: str) -> set[str]:
    return set(MAKE.findall(text))


def test_every_command_named_exists_and_the_readme_lists_the_messages_ones(
    template_snapshot: Path, tmp_path: Path
) -> None:
    project = tmp_path / "service"
    render(template_snapshot, project)
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    after_copy = _targets(questions["_message_after_copy"])
    after_update = _targets(questions["_message_after_update"])
    readme = (project / "README.md").read_text(encoding="utf-8")
    table = _targets("\n".join(line for line in readme.splitlines() if line.startswith("| `make")))
    updating = _targets((TEMPLATE_ROOT / "docs" / "updating.md").read_text(encoding="utf-8"))

    named = after_copy | after_update | _targets(readme) | updating
    assert sorted(named - defined) == [], "a command named that the Makefile does not have"
    assert sorted(after_copy - table) == [], "a command of the message missing from the README"
    assert CHECK_BEFORE_COMMITTING in after_copy & after_update & table & updating
    assert re.search(rf"^{CHECK_BEFORE_COMMITTING}: .*## Everything CI runs$", makefile, re.M)
