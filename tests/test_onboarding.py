"""docs/onboarding.md walks a new team from zero to its own feature in production: its commands
run as written, in order, in a freshly generated service."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from .helpers import clean_env, generate, git_init_commit, python_interpreter, run

SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)


@pytest.mark.xdist_group("onboarding")
def test_the_onboarding_commands_run_as_written(tmp_path: Path) -> None:
    env = clean_env(python_interpreter("3.11"))
    project = generate(tmp_path / "service", {}, env=env)
    git_init_commit(project)
    doc = (project / "docs" / "onboarding.md").read_text(encoding="utf-8")
    commands = [
        line
        for block in SHELL_BLOCK.findall(doc)
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(commands) >= 10

    for command in commands:
        run(["bash", "-c", command], cwd=project, env=env, timeout=900)

    labels = yaml.safe_load((project / "prompts" / "labels.yaml").read_text(encoding="utf-8"))
    assert labels["contract_summary"] == {"production": 2, "canary": 2}
    assert (project / "src" / "ai_service" / "features" / "contract_summary").is_dir()
    for snippet in JSON_BLOCK.findall(doc):  # the flag the doc asks a team to paste
        flag = json.loads("{" + snippet + "}")
        assert "fractional" in json.dumps(flag)
