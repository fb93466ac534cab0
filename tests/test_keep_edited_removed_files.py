"""The migration that keeps a team's edits to a file the template removed.

Copier deletes such a file on update, edited or not. The whole path (an unedited one goes
quietly) is in `test_update_matrix.py`; these cover what it keeps and what it lets go.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .helpers import TEMPLATE_ROOT
from .releases import release
from .test_adopt_copied_features import load_step

keep = load_step("keep_edited_removed_files")

REMOVED = "tests/test_agents_md.py"
LAST_SHIPPED = release("0.7.0").commit
ANSWERS = {"package_name": "desk", "project_slug": "desk-api"}


def generated(line_length: int = 100) -> str:
    """The removed file as Copier generated it at 0.7.0: rendered, then formatted by ruff
    (the project's line length is 100; a shorter one wraps lines, as longer names would)."""
    source = REMOVED.replace("tests/", "template/tests/") + ".jinja"
    shipped = keep.template_file(TEMPLATE_ROOT, LAST_SHIPPED, source)
    assert shipped is not None
    return subprocess.run(
        ["ruff", "format", f"--line-length={line_length}", "--stdin-filename=x.py", "-"],
        input=keep.render(shipped, ANSWERS),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".copier-answers.yml").write_text(
        "".join(f"{key}: {value}\n" for key, value in ANSWERS.items())
    )
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("line_length", [100, 40])
def test_the_template_text_however_formatted_is_not_an_edit(
    project: Path, line_length: int
) -> None:
    text = generated(line_length)
    (project / REMOVED).write_text(text)

    assert keep.keep_edited(TEMPLATE_ROOT, LAST_SHIPPED) == []
    assert not (project / f"{REMOVED}.edited").exists()


def test_the_formatting_it_ignores_is_real() -> None:
    assert generated(40) != generated(100), "a shorter line length wraps lines"


@pytest.mark.parametrize(
    "edit",
    [
        ("assert len(PATHS) >= 10", "assert len(PATHS) >= 12"),
        ("\n\n@pytest.mark", "\n\n# Our docs list runbooks too.\n@pytest.mark"),
    ],
    ids=["code", "comment"],
)
def test_an_edited_copy_is_kept_and_reported(project: Path, edit: tuple[str, str]) -> None:
    text = generated()
    assert edit[0] in text
    (project / REMOVED).write_text(text.replace(edit[0], edit[1], 1))

    notes = keep.keep_edited(TEMPLATE_ROOT, LAST_SHIPPED)

    assert (project / f"{REMOVED}.edited").read_text() == text.replace(edit[0], edit[1], 1)
    assert notes == [
        f"the template removed {REMOVED}; your edited copy is {REMOVED}.edited: "
        "tests/test_documented_commands.py checks AGENTS.md's paths and commands now. "
        "Carry over what you still need, then delete it"
    ]
    assert keep.keep_edited(TEMPLATE_ROOT, LAST_SHIPPED) == notes, "again: the same"


def test_a_project_without_the_file_is_left_alone(project: Path) -> None:
    assert keep.keep_edited(TEMPLATE_ROOT, LAST_SHIPPED) == []
    assert list((project / "tests").iterdir()) == []
