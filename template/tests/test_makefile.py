"""The Makefile runs uv in the project's environment, whichever virtual environment the shell
has activated, and without uv warning that `VIRTUAL_ENV` does not match it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import PROJECT_ROOT

MAKE = shutil.which("make")
TIMEOUT_SECONDS = 120
PROBE = 'probe: ; @$(UV_RUN) python -c "import sys; print(sys.prefix)"'
"""A target that runs Python the way every target runs its tools: through `$(UV_RUN)`."""


def test_make_uses_the_project_environment_even_with_another_one_active(tmp_path: Path) -> None:
    assert MAKE is not None, "make is not installed: every command in the README goes through it"
    environment = {**os.environ, "VIRTUAL_ENV": str(tmp_path / "another-project" / ".venv")}
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [MAKE, "--no-print-directory", f"--eval={PROBE}", "probe"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "VIRTUAL_ENV" not in result.stderr
    assert Path(result.stdout.strip()) == Path(sys.prefix)
