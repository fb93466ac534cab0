"""Fixtures shared by the template tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import TEMPLATE_ROOT

IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain-directory copy of the template: fast to render, no git involved."""
    snapshot = tmp_path_factory.mktemp("template") / "copier-ai-service"
    shutil.copytree(TEMPLATE_ROOT, snapshot, ignore=IGNORED)
    return snapshot
