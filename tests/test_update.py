"""`copier update` carries template changes into a project the team has already changed.

A temporary git copy of the template gets two tagged versions; a project generated at the first
and edited locally is updated to the second.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import IGNORED
from .helpers import (
    clean_env,
    copier,
    generate,
    git_init_commit,
    git_status,
    python_interpreter,
    run,
)
from .old_way import add_contracts_the_old_way
from .releases import release, tagged_history
from .team_edits import BILLING_KEYWORDS, TEAM_KEYWORDS, TEAM_NOTE

RUNBOOK = "template/docs/runbook.md.jinja"

TEMPLATE_V2_SECTION = "\n## Template v2\n\nAdded by the second template version.\n"


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A git copy of the template's working tree, tagged v1.0.0."""
    repo = tmp_path / "template"
    shutil.copytree(Path(__file__).resolve().parents[1], repo, ignore=IGNORED)
    git_init_commit(repo, "v1")
    run(["git", "tag", "v1.0.0"], cwd=repo)
    return repo


def _release_v2(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    git_init_commit(repo, "v2")
    run(["git", "tag", "v2.0.0"], cwd=repo)


@pytest.fixture
def project(template_repo: Path, tmp_path: Path) -> Path:
    env = clean_env(python_interpreter("3.11"))
    path = generate(tmp_path / "service", {}, template=template_repo, vcs_ref="v1.0.0", env=env)
    git_init_commit(path)
    return path


def _update(project: Path) -> str:
    """Update `project` to v2.0.0; what Copier and the template's steps printed on stderr."""
    result = copier(
        "update",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref=v2.0.0",
        cwd=project,
        env=clean_env(python_interpreter("3.11")),
    )
    return result.stderr


@pytest.mark.xdist_group("update")
def test_update_keeps_local_edits_and_applies_template_changes(
    template_repo: Path, project: Path
) -> None:
    # The team edits generated files and adds its own.
    readme = project / "README.md"
    readme.write_text(readme.read_text() + TEAM_NOTE)
    threshold = project / ".env.example"
    threshold.write_text(threshold.read_text().replace('"triage": 0.6}', '"triage": 0.7}'))
    (project / "tests" / "test_team.py").write_text(
        '"""A test the team added."""\n\n\ndef test_team_invariant() -> None:\n'
        "    assert 2 + 2 == 4\n"
    )
    git_init_commit(project, "Team edits")
    env_file = (project / ".env").read_text()

    # The template ships a second version touching the runbook.
    _release_v2(template_repo, RUNBOOK, "\n## Restart\n", TEMPLATE_V2_SECTION + "\n## Restart\n")
    reported = _update(project)

    assert TEAM_NOTE in readme.read_text()
    assert '"triage": 0.7}' in threshold.read_text()
    assert (project / "tests" / "test_team.py").exists()
    assert TEMPLATE_V2_SECTION in (project / "docs" / "runbook.md").read_text()
    assert (project / ".env").read_text() == env_file, ".env is the team's: never rewritten"
    assert "_commit: v2.0.0" in (project / ".copier-answers.yml").read_text()
    assert "copier update: no conflicts" in reported
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in run(["git", "diff"], cwd=project).stdout

    env = clean_env(python_interpreter("3.11"))
    run(["uv", "sync", "--locked"], cwd=project, env=env)
    # The team's test still runs; the whole suite after an update: test_update_matrix.py.
    result = run(
        [
            "uv",
            "run",
            "--locked",
            "pytest",
            "-v",
            "-n",
            "0",
            "--no-cov",
            "-p",
            "no:cacheprovider",
            "tests/test_team.py",
        ],
        cwd=project,
        env=env,
    )
    assert "tests/test_team.py::test_team_invariant PASSED" in result.stdout


@pytest.mark.xdist_group("update")
def test_conflicting_edits_are_marked_and_fail_the_projects_checks(
    template_repo: Path, project: Path
) -> None:
    runbook = project / "docs" / "runbook.md"
    original = "## Restart\n"
    runbook.write_text(runbook.read_text().replace(original, "## Restarting safely\n", 1))
    git_init_commit(project, "Team renames a section")

    _release_v2(template_repo, RUNBOOK, "\n## Restart\n", "\n## Restarts and redeploys\n")
    reported = _update(project)

    assert "<<<<<<<" in runbook.read_text()
    assert "copier update: 1 file(s) need you to merge" in reported
    assert "  docs/runbook.md  (conflict markers)" in reported.splitlines()
    assert git_status(project) != ""
    env = clean_env(python_interpreter("3.11"))
    run(["uv", "sync", "--locked"], cwd=project, env=env)
    with pytest.raises(AssertionError, match="check for merge conflict markers"):
        run(
            ["uv", "run", "--locked", "pre-commit", "run", "check-merge-conflict", "--all-files"],
            cwd=project,
            env=env,
        )


@pytest.mark.xdist_group("update")
def test_a_project_copied_from_a_relative_path_records_it_absolute_and_updates(
    template_repo: Path, tmp_path: Path
) -> None:
    env = clean_env(python_interpreter("3.11"), PWD=str(template_repo))  # as a shell sets it
    where = tmp_path / "service"
    copied = copier(
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref=v1.0.0",
        ".",
        str(where),
        cwd=template_repo,
        env=env,
    )
    project = tmp_path / "service"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(template_repo.resolve())
    assert f"recorded the template as {template_repo.resolve()} (given as '.')" in copied.stderr
    git_init_commit(project)

    _release_v2(template_repo, RUNBOOK, "\n## Restart\n", TEMPLATE_V2_SECTION + "\n## Restart\n")
    _update(project)

    assert "_commit: v2.0.0" in (project / ".copier-answers.yml").read_text()
    assert TEMPLATE_V2_SECTION in (project / "docs" / "runbook.md").read_text()


BEFORE_FEATURE_PLATFORM = release("0.6.0")
"""The last release with triage in `src/<package>/triage/`, before the feature platform."""


@pytest.fixture
def history_repo(tmp_path: Path) -> Path:
    """This repository's real history, each release tagged, the working tree as HEAD."""
    return tagged_history(tmp_path / "template-history")


@pytest.mark.xdist_group("update")
def test_update_across_the_feature_platform_carries_the_teams_features_and_edits(
    history_repo: Path, tmp_path: Path
) -> None:
    env = clean_env(python_interpreter("3.11"))
    project = generate(
        tmp_path / "service",
        {},
        template=history_repo,
        vcs_ref=BEFORE_FEATURE_PLATFORM.tag,
        env=env,
    )
    assert (
        f"_commit: {BEFORE_FEATURE_PLATFORM.tag}\n" in (project / ".copier-answers.yml").read_text()
    )
    git_init_commit(project)
    package = project / "src" / "ai_service"
    add_contracts_the_old_way(project, "ai_service")
    rules = package / "triage" / "rules.py"
    rules.write_text(rules.read_text().replace(BILLING_KEYWORDS, TEAM_KEYWORDS, 1))
    runbook = project / "docs" / "runbook.md"
    runbook.write_text(runbook.read_text() + TEAM_NOTE)
    gate = project / "evals" / "gate.yaml"
    gate.write_text(gate.read_text().replace("tolerance: 0.02", "tolerance: 0.03", 1))
    team_baseline = project / "evals" / "baselines" / "openai--team-model.json"
    team_baseline.write_text((team_baseline.parent / "classical--keywords.json").read_text())
    git_init_commit(project, "Team edits")

    result = copier("update", "--trust", "--defaults", "--vcs-ref=HEAD", cwd=project, env=env)

    assert "copier update: no conflicts" in result.stderr
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in run(["git", "diff", "HEAD"], cwd=project).stdout
    assert TEAM_NOTE in runbook.read_text()
    # triage: the team's keywords, threshold, gate and baselines carried over.
    assert not (package / "triage").exists(), "the old folder is moved or removed"
    assert TEAM_KEYWORDS in (package / "features" / "triage" / "rules.py").read_text()
    assert "moved your edited src/ai_service/triage/rules.py" in result.stderr
    assert (package / "serving" / "service.py").exists()
    env_file = (project / ".env").read_text()
    assert 'AI_SERVICE_REVIEW_THRESHOLDS={"triage": 0.6}' in env_file
    assert "TRIAGE_REVIEW_THRESHOLD" not in env_file
    moved_gate = (project / "evals" / "triage" / "gate.yaml").read_text()
    assert "tolerance: 0.03" in moved_gate
    assert "max_chars: # the longest each guarded text field may be\n  summary: 240" in moved_gate
    assert not gate.exists()
    baselines = project / "evals" / "triage" / "baselines"
    assert sorted(path.name for path in baselines.iterdir()) == [
        "classical--keywords.json",
        "openai--team-model.json",
    ]
    assert not (project / "evals" / "baselines").exists()
    # contracts, copied from triage the old way: now a feature of the platform.
    assert "moved src/ai_service/contracts/ to src/ai_service/features/contracts/" in result.stderr
    assert "no longer at POST /v1/contracts/summary" in result.stderr
    assert not list((package / "contracts").glob("*.py"))
    assert (package / "contracts" / "service.py.edited").exists()
    assert "contracts" not in (package / "app.py").read_text()
    assert "contracts_router" in (package / "app.py.edited").read_text()
    assert (project / "evals" / "contracts" / "gate.yaml").exists()
    # Both served, `make all` and `make eval-gate` after such an update: test_update_matrix.py.


@pytest.mark.xdist_group("update")
def test_a_foundation_project_with_a_stale_env_updates_and_starts(
    history_repo: Path, tmp_path: Path
) -> None:
    env = clean_env(python_interpreter("3.11"))
    foundation = release("0.1.0")
    project = generate(
        tmp_path / "service", {}, template=history_repo, vcs_ref=foundation.tag, env=env
    )
    env_file = project / ".env"
    # Foundation's .env has TRIAGE_PROMPT_VERSION and TRIAGE_REVIEW_THRESHOLD; 0.3.0 added this.
    env_file.write_text(env_file.read_text() + "AI_SERVICE_LEDGER_URL=sqlite+aiosqlite:///l.db\n")
    git_init_commit(project)

    result = copier("update", "--trust", "--defaults", "--vcs-ref=HEAD", cwd=project, env=env)

    assert "copier update: no conflicts" in result.stderr
    migrated = env_file.read_text()
    assert "AI_SERVICE_DATABASE_URL=sqlite+aiosqlite:///l.db\n" in migrated
    assert 'AI_SERVICE_REVIEW_THRESHOLDS={"triage": 0.6}\n' in migrated
    assert not [name for name in RETIRED if f"AI_SERVICE_{name}=" in migrated]
    run(["uv", "sync", "--locked"], cwd=project, env=env)
    checked = run(["uv", "run", "--locked", "ai-service", "check"], cwd=project, env=env)
    assert checked.stdout.startswith("OK: model classical:keywords")


RETIRED = ("LEDGER_URL", "TRIAGE_PROMPT_VERSION", "TRIAGE_REVIEW_THRESHOLD")
"""What earlier releases read and the service refuses now (its RETIRED_VARIABLES)."""
