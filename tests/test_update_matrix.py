"""`copier update` from every release, of a project a team has made its own.

For each release in `releases.yaml` and two answer sets, a project is generated at the release,
edited the same way every time (`team_edits.py`), committed and updated to this working tree.
The update must exit 0, leave conflicts only in a file both sides changed (the runbook, where
the team's note and the template's new sections meet) and list each one, keep every team edit,
run its migrations, and leave a project whose features answer with the team's edits.

Then the project's own checks. `make all` and `make eval-gate` take about four minutes a
project, so they run for the default answers at the first release of each update path (where
triage and its wiring lived, whether labels and eval cases existed) and at the newest; every
other project runs `make lint` and the contract suite, which takes every feature, the migrated
ones included, through every layer. Run with `make all` at every release point, all fourteen
passed too (at a8bd712, before the shadow flag joined the team's edits: 24.5 minutes on two
workers).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import (
    TEMPLATE_ROOT,
    clean_env,
    copier,
    generate,
    git_init_commit,
    python_interpreter,
    run,
)
from .releases import Release, releases, tagged_history
from .team_edits import (
    GATE_TOLERANCE,
    PROMPT_V2_RULE,
    TEAM_BASELINE,
    TEAM_BODY_LIMIT,
    TEAM_KEYWORDS,
    TEAM_NOTE,
    TEAM_SHADOW,
    ask_script,
    edit_like_a_team,
    served_labels,
)


@dataclass(frozen=True)
class AnswerSet:
    answers: dict[str, Any]
    package: str
    python: str


ANSWER_SETS = {
    "defaults": AnswerSet({}, "ai_service", "3.11"),
    "support-desk-py312": AnswerSet(
        {
            "project_name": "Support Desk",
            "python_version": "3.12",
            "providers": ["openai"],
            "license": "Proprietary",
        },
        "support_desk",
        "3.12",
    ),
}
"""Answers every release asks: the defaults, and another name, Python and provider set."""

EVERY_CHECK = (("make", "all"), ("make", "eval-gate"))
LINT_AND_CONTRACTS = (
    ("make", "lint"),
    (
        "uv",
        "run",
        "--locked",
        "pytest",
        "--no-cov",
        "-p",
        "no:cacheprovider",
        "tests/test_every_feature.py",
    ),
)
"""What an update from a release can break that the full checks of another release of the same
path would not catch: formatting for these answers, and every feature through every layer."""


def update_path(release: Release) -> tuple[bool, ...]:
    """What decides how an update from `release` goes: where triage and its wiring lived, and
    whether prompt labels and eval cases existed yet."""
    return tuple(
        _shipped(release, path)
        for path in (
            "template/src/{{package_name}}/features",  # 0.7.0: the feature platform
            "template/src/{{package_name}}/triage/plan.py",  # 0.6.0: FEATURE in __init__.py
            "template/src/{{package_name}}/components.py",  # 0.4.0: wiring out of app.py
            "template/prompts/labels.yaml.jinja",  # 0.4.0: labels, eval cases, flags
        )
    )


def _shipped(release: Release, path: str) -> bool:
    shown = subprocess.run(
        ["git", "cat-file", "-e", f"{release.commit}:{path}"], cwd=TEMPLATE_ROOT, check=False
    )
    return shown.returncode == 0


def checks(release: Release, answer_set: str) -> tuple[tuple[str, ...], ...]:
    """Every check for the default answers at the first release of each update path (and the
    newest); lint and the contract suite otherwise (the same platform code, the same path)."""
    listed = releases()
    earlier = [entry for entry in listed if entry.number < release.number]
    first_of_its_path = update_path(release) not in {update_path(entry) for entry in earlier}
    if answer_set == "defaults" and (first_of_its_path or release == listed[-1]):
        return EVERY_CHECK
    return LINT_AND_CONTRACTS


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's real history, each release tagged, the working tree as HEAD."""
    return tagged_history(tmp_path_factory.mktemp("history") / "template")


@pytest.mark.parametrize("release", releases(), ids=lambda entry: entry.version)
@pytest.mark.parametrize("answer_set", list(ANSWER_SETS))
def test_a_project_edited_at_a_release_updates_to_this_template(
    history_repo: Path, tmp_path: Path, release: Release, answer_set: str
) -> None:
    chosen = ANSWER_SETS[answer_set]
    env = clean_env(python_interpreter(chosen.python))
    project = generate(
        tmp_path / "service", chosen.answers, template=history_repo, vcs_ref=release.tag, env=env
    )
    git_init_commit(project)
    slug = str(_answers(project)["project_slug"])
    asked = edit_like_a_team(project, chosen.package, slug, env)
    git_init_commit(project, "Team edits")

    updated = copier("update", "--trust", "--defaults", "--vcs-ref=HEAD", cwd=project, env=env)

    # Conflicts only where both sides changed the same lines, each one listed; then merged.
    marked = _marked(project)
    assert _listed(updated.stderr) == marked, updated.stderr
    assert set(marked) <= TEMPLATE_FILES_THE_TEAM_EDITS
    assert not list(project.rglob("*.rej"))
    for name in marked:
        merge_keeping_both(project / name)
    if release.number < (0, 4, 0):  # no eval cases yet: the copy has none, and the update says so
        assert "add eval cases to evals/contracts/ (happy.yaml first)" in updated.stderr
        cases = project / "evals" / "triage" / "happy.yaml"  # the copy takes triage's requests
        shutil.copyfile(cases, project / "evals" / "contracts" / "happy.yaml")
    assert _answers(project)["_commit"] != release.tag
    # Every team edit kept, where this template keeps it.
    package = project / "src" / chosen.package
    assert not (package / "triage").exists(), "the old triage folder moved onto the platform"
    assert TEAM_KEYWORDS in (package / "features" / "triage" / "rules.py").read_text()
    assert TEAM_NOTE in (project / "docs" / "runbook.md").read_text()
    env_file = (project / ".env").read_text(encoding="utf-8")
    assert f"{chosen.package.upper()}_{TEAM_BODY_LIMIT}\n" in env_file
    assert "TRIAGE_PROMPT_VERSION" not in env_file, updated.stderr
    assert PROMPT_V2_RULE in (project / "prompts" / "triage" / "v2.md").read_text()
    assert "  production: 2\n" in served_labels(project)
    if release.number >= (0, 4, 0):  # the eval gate and baselines existed
        assert GATE_TOLERANCE[1] in (project / "evals" / "triage" / "gate.yaml").read_text()
        assert (project / "evals" / "triage" / "baselines" / TEAM_BASELINE).exists()
        flags = json.loads((project / "flags" / "flags.json").read_text(encoding="utf-8"))
        assert flags["flags"]["triage.shadow"] == TEAM_SHADOW
    if release.number < (0, 7, 0):  # a copy of triage, carried onto the platform
        assert "/contracts/ to src/" in updated.stderr
    assert '"contracts"' in (package / "features" / "__init__.py").read_text()

    run(["uv", "sync", "--locked"], cwd=project, env=env)
    checked = run(["uv", "run", "--locked", slug, "check"], cwd=project, env=env)
    assert checked.stdout.startswith("OK: model classical:keywords")
    script = ask_script(chosen.package, asked)
    served = run(["uv", "run", "--locked", "python", "-c", script], cwd=project, env=env)
    assert [line for line in served.stdout.splitlines() if line.startswith(_ROUTES)] == [
        f"{entry.route} {entry.answered}" for entry in asked
    ]
    for check in checks(release, answer_set):
        run(check, cwd=project, env=env, timeout=900)


_ROUTES = ("triage ", "contracts ")
TEMPLATE_FILES_THE_TEAM_EDITS = {"docs/runbook.md"}
"""The team's other edits are in files it owns, which an update never writes."""
CONFLICT = re.compile(
    r"^ {2}(?P<name>\S+) {2}\((?:conflict markers|changes that did not apply)\)$", re.M
)
MARKERS = re.compile(
    r"^<<<<<<< .*\n(?P<ours>(?:.*\n)*?)=======\n(?P<theirs>(?:.*\n)*?)>>>>>>> .*\n", re.M
)


def _listed(reported: str) -> list[str]:
    """The files the update said need merging by hand."""
    return sorted(found["name"] for found in CONFLICT.finditer(reported))


def _marked(project: Path) -> list[str]:
    """The project's files holding conflict markers, found by git."""
    found = subprocess.run(
        ["git", "grep", "-l", "-e", "^<<<<<<< "], cwd=project, capture_output=True, text=True
    )
    assert found.returncode in {0, 1}, found.stderr  # 1: no match
    return sorted(found.stdout.split())


def merge_keeping_both(path: Path) -> None:
    """Resolve each conflict as a team would here: the template's lines, then its own."""
    text = path.read_text(encoding="utf-8")
    merged = MARKERS.sub(lambda found: found["theirs"] + "\n" + found["ours"], text)
    assert "<<<<<<<" not in merged
    path.write_text(merged, encoding="utf-8")


def _answers(project: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8")))


def test_every_check_runs_at_the_first_release_of_each_update_path_and_the_newest() -> None:
    full = [entry.version for entry in releases() if checks(entry, "defaults") == EVERY_CHECK]
    assert full == ["0.1.0", "0.4.0", "0.6.0", "0.7.0"]
    assert all(checks(entry, "support-desk-py312") == LINT_AND_CONTRACTS for entry in releases())
