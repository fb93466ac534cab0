"""The template repository itself: its CI workflow, its entry points and its docs agree."""

from __future__ import annotations

import itertools
import re
import shutil
import tomllib

import yaml

from .helpers import TEMPLATE_ROOT, run
from .releases import releases


def _readme_commands() -> list[str]:
    readme = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", readme)


def test_readme_opens_with_the_two_setup_commands() -> None:
    generate, test = _readme_commands()[:2]
    assert "copier copy --trust --defaults" in generate
    assert generate.rstrip().endswith("serve")
    assert test == "pip install uv && uv run --locked pytest"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = _readme_commands()[1]
    ci_lines = (TEMPLATE_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines
    workflow = yaml.safe_load((TEMPLATE_ROOT / ".github/workflows/tests.yml").read_text())
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert test_command in steps


def test_template_workflow_passes_actionlint_and_zizmor() -> None:
    workflow = str(TEMPLATE_ROOT / ".github" / "workflows" / "tests.yml")
    for tool in ("actionlint", "zizmor"):
        assert shutil.which(tool), f"{tool} missing from the test environment"
    run(["actionlint", workflow], cwd=TEMPLATE_ROOT)
    run(["zizmor", "--offline", workflow], cwd=TEMPLATE_ROOT)


def test_every_question_is_documented() -> None:
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
    asked = [
        name
        for name, spec in questions.items()
        if not name.startswith("_") and spec.get("when") is not False  # not hidden lists
    ]
    documented = (TEMPLATE_ROOT / "docs" / "questions.md").read_text(encoding="utf-8")
    assert [name for name in asked if f"`{name}`" not in documented] == []


def test_the_template_update_workflow_runs_the_copier_the_template_is_tested_with() -> None:
    lock = tomllib.loads((TEMPLATE_ROOT / "uv.lock").read_text(encoding="utf-8"))
    (tested,) = [package["version"] for package in lock["package"] if package["name"] == "copier"]
    workflow = yaml.safe_load(
        (TEMPLATE_ROOT / "template/.github/workflows/template-update.yml").read_text()
    )
    (check,) = [step for step in workflow["jobs"]["check"]["steps"] if step.get("id") == "check"]
    assert check["env"]["COPIER_VERSION"] == tested


def test_every_release_is_a_commit_of_this_history_in_version_order() -> None:
    listed = releases()
    versions = [entry.number for entry in listed]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    for older, newer in itertools.pairwise(listed):
        run(["git", "merge-base", "--is-ancestor", older.commit, newer.commit], cwd=TEMPLATE_ROOT)
    run(["git", "merge-base", "--is-ancestor", listed[-1].commit, "HEAD"], cwd=TEMPLATE_ROOT)
    changelog = (TEMPLATE_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert [entry.version for entry in listed if f"## {entry.version} " not in changelog] == []
