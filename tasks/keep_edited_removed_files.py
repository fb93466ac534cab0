"""Copier migration (before updating): keep the team's edits to files the template removed.

`copier update` deletes a file the template no longer ships, edited or not. This step runs
first, inside the project, with the template's checkout and the commit updated from. Each file
in `REMOVED` that the team changed is copied to `<file>.edited` (no tool collects it and the
update leaves it alone) and reported with where its job went; an unchanged one goes quietly.

"Changed" ignores what the generator's formatter may have done to the template's text (line
breaks, indentation, brackets and commas around wrapped lines): any other difference counts,
so an edit is never taken for the template's text. Running it again is harmless.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml  # Copier's own dependency
from update_context import ANSWERS, save_edited, template_file

REMOVED = {
    "tests/test_agents_md.py": (
        "template/tests/test_agents_md.py.jinja",
        "tests/test_documented_commands.py checks AGENTS.md's paths and commands now",
    ),
}
"""Each removed project file: its template source, and where its job went."""


def render(source: str, answers: dict[str, object]) -> str:
    """The template's text with the answers it uses filled in (a file with other Jinja stays
    unrendered, so it reads as edited: kept, never lost)."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda name: str(answers.get(name[1], name[0])), source)


def formatted_alike(left: str, right: str) -> bool:
    def normalized(text: str) -> str:
        return re.sub(r"[\s(),]", "", text)

    return normalized(left) == normalized(right)


def keep_edited(template: Path, commit: str) -> list[str]:
    answers = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
    notes: list[str] = []
    for name, (source, successor) in REMOVED.items():
        path = Path(name)
        shipped = template_file(template, commit, source)
        if not path.exists() or shipped is None:
            continue
        text = path.read_text(encoding="utf-8")
        if formatted_alike(text, render(shipped, answers)):
            continue
        saved = save_edited(path, text)
        notes.append(
            f"the template removed {path}; your edited copy is {saved}: {successor}. "
            "Carry over what you still need, then delete it"
        )
    return notes


def main() -> None:
    for note in keep_edited(Path(sys.argv[1]), sys.argv[2]):
        print(f"copier update: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
