"""What every update step reads: the project's package, and a template file at a commit.

The update steps run on Copier's interpreter, inside the project, before Copier has loaded the
answers into their context; this module is imported beside them (their folder is on the path).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml  # Copier's own dependency

ANSWERS = Path(".copier-answers.yml")


def package_name() -> str:
    """The project's package, from its answers file."""
    answers = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
    return str(answers["package_name"])


def template_file(template: Path, commit: str, path: str) -> str | None:
    """A file of the template checkout `template` as it was at `commit`; None when it was not
    there (or the commit is unknown)."""
    shown = subprocess.run(
        ["git", "show", f"{commit}:{path}"],
        cwd=template,
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout if shown.returncode == 0 else None


def save_edited(path: Path, text: str) -> Path:
    """Keep a team's edited copy of a file the update removes, beside it as `<name>.edited`, so
    no edit is lost silently; returns where it went."""
    saved = path.with_name(f"{path.name}.edited")
    saved.write_text(text, encoding="utf-8")
    return saved
