"""The migration that makes a `prompts/labels.yaml` new to the project serve what the code did.

The whole path (a 0.1.0 project serving prompt v2 through `TRIAGE_PROMPT_VERSION`, updated)
is in `test_update_matrix.py`; these cover the labels file it writes, and what it leaves alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .helpers import clean_env, git_init_commit, run
from .test_adopt_copied_features import load_step

labels = load_step("label_prompts")

SHIPPED = (
    "# Which version of each prompt each label serves.\ntriage:\n  production: 1\n  canary: 1\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project before the update wrote `labels.yaml`: triage v1 and v2, a copy's v1 and v3."""
    (tmp_path / ".copier-answers.yml").write_text("package_name: desk\n")
    (tmp_path / ".env").write_text("DESK_API_KEYS=dev:x\nDESK_TRIAGE_PROMPT_VERSION=2\n")
    for prompt, versions in {"triage": (1, 2), "quotes": (1, 3)}.items():
        (tmp_path / "prompts" / prompt).mkdir(parents=True)
        for version in versions:
            (tmp_path / "prompts" / prompt / f"v{version}.md").write_text(f"version: {version}\n")
    git_init_commit(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_new_labels_file_serves_the_versions_the_code_chose(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prompts" / "labels.yaml").write_text(SHIPPED)  # the update writes it

    labels.main()

    written = (project / "prompts" / "labels.yaml").read_text()
    assert written.startswith("# Which version"), "the file's comments stay"
    assert yaml.safe_load(written) == {
        "triage": {"production": 2, "canary": 2},
        "quotes": {"production": 3},
    }
    reported = capsys.readouterr().err
    assert "triage's labels serve version 2, as TRIAGE_PROMPT_VERSION did" in reported
    assert "quotes has a production label on version 3, its highest: check it" in reported
    labels.main()
    assert (project / "prompts" / "labels.yaml").read_text() == written, "again: no change"


def test_a_labels_file_the_team_has_is_never_changed(project: Path) -> None:
    (project / "prompts" / "labels.yaml").write_text(SHIPPED)
    run(["git", "add", "prompts/labels.yaml"], cwd=project, env=clean_env())

    labels.main()

    assert (project / "prompts" / "labels.yaml").read_text() == SHIPPED
