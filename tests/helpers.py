"""Generate projects from this template and run commands in them, bounded in time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import copier as copier_api  # the CLI runner below is `copier`
import yaml

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
COMMAND_TIMEOUT_SECONDS = 300


class CommandFailed(AssertionError):
    """A command exited non-zero; the message carries its output."""


def python_interpreter(version: str) -> str:
    """Path of an installed Python `version` (e.g. "3.12"), found on PATH or under pyenv."""
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(
        (str(path) for path in Path(pyenv_root).glob(f"versions/{version}.*/bin/python{version}")),
        reverse=True,
    )
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise LookupError(f"Python {version} is not installed (looked on PATH and under {pyenv_root})")


def clean_env(python: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for generated projects: no outer virtualenv, no Python downloads."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1", NO_COLOR="1")
    # The template's tests already run two projects at once, one per core: a project's suite
    # gets one pytest-xdist worker, not one per core, or four busy processes on two cores would
    # push its timing-bound tests (attempt timeouts, deadlines) past their limits.
    env["PYTEST_XDIST_AUTO_NUM_WORKERS"] = "1"
    if python:
        env["UV_PYTHON"] = python
    env.update(extra)
    return env


def run(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run `command`, raising `CommandFailed` with its output when it exits non-zero."""
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CommandFailed(
            f"$ {' '.join(command)}  (in {cwd}, exit {result.returncode})\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def copier(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path = TEMPLATE_ROOT
) -> subprocess.CompletedProcess[str]:
    """Run the copier CLI of this test environment."""
    return run([sys.executable, "-m", "copier", *args], cwd=cwd, env=env)


def generate(
    destination: Path,
    answers: Mapping[str, Any],
    *,
    template: Path = TEMPLATE_ROOT,
    vcs_ref: str = "HEAD",
    env: Mapping[str, str] | None = None,
) -> Path:
    """`copier copy` the template with `answers` (defaults for the rest) into `destination`."""
    data = [f"--data={key}={_answer(value)}" for key, value in answers.items()]
    copier(
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        f"--vcs-ref={vcs_ref}",
        *data,
        str(template),
        str(destination),
        env=env,
    )
    return destination


def _answer(value: Any) -> str:
    return (
        value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
    )


def git_init_commit(project: Path, message: str = "Generated") -> None:
    """Make `project` a git repository with everything committed."""
    env = clean_env(
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    if not (project / ".git").exists():
        run(["git", "init", "-q", "-b", "main"], cwd=project, env=env)
    run(["git", "add", "-A"], cwd=project, env=env)
    run(["git", "commit", "-q", "--no-verify", "-m", message], cwd=project, env=env)


def git_status(project: Path) -> str:
    return run(["git", "status", "--porcelain"], cwd=project).stdout


def render(template: Path, destination: Path, data: Mapping[str, Any] | None = None) -> None:
    """Render the template with `data` (defaults for the rest) and no tasks: files only."""
    copier_api.run_copy(
        str(template),
        str(destination),
        data=dict(data or {}),
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
