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


QUICK_VARIANT = "defaults"
UPDATE_MODULES = {"test_update.py", "test_update_matrix.py"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        help=f"local iteration: the {QUICK_VARIANT!r} variant only and no update tests "
        "(CI runs everything)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--quick` leaves out the other variants and every update test."""
    if not config.getoption("quick"):
        return

    def quick(item: pytest.Item) -> bool:
        if item.path.name in UPDATE_MODULES:
            return False
        callspec = getattr(item, "callspec", None)
        variant = callspec.params.get("project") if callspec else None
        return variant in {None, QUICK_VARIANT}

    config.hook.pytest_deselected(items=[item for item in items if not quick(item)])
    items[:] = [item for item in items if quick(item)]
