"""The template's releases (`releases.yaml`), and a clone of its history tagged with them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from .conftest import IGNORED
from .helpers import TEMPLATE_ROOT, clean_env, run

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


@dataclass(frozen=True)
class Release:
    version: str
    commit: str
    title: str

    @property
    def number(self) -> tuple[int, ...]:
        """The version as numbers, for ordering: `(0, 4, 0)`."""
        return tuple(int(part) for part in self.version.split("."))

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def releases() -> list[Release]:
    listed = yaml.safe_load((TEMPLATE_ROOT / "releases.yaml").read_text(encoding="utf-8"))
    return [Release(**{key: str(value) for key, value in entry.items()}) for entry in listed]


def release(version: str) -> Release:
    (found,) = [entry for entry in releases() if entry.version == version]
    return found


def tagged_history(destination: Path) -> Path:
    """This repository's history with each release tagged, and the working tree committed on
    top as HEAD (nothing new on a clean checkout)."""
    clone = ["git", "clone", "--quiet", "--no-checkout", str(TEMPLATE_ROOT), str(destination)]
    run(clone, cwd=destination.parent)
    shutil.copytree(TEMPLATE_ROOT, destination, ignore=IGNORED, dirs_exist_ok=True)
    env = clean_env(**GIT_IDENTITY)
    run(["git", "add", "-A"], cwd=destination, env=env)
    run(
        ["git", "commit", "-q", "--no-verify", "--allow-empty", "-m", "The working tree"],
        cwd=destination,
        env=env,
    )
    for entry in releases():
        run(["git", "tag", "-f", entry.tag, entry.commit], cwd=destination, env=env)
    return destination
