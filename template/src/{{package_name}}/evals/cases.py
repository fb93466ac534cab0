"""The eval cases: pydantic-evals datasets in YAML, one file per slice, under `evals/<feature>/`.

A case is a ticket, the labels a person would give it and metadata: its slice (`happy`, `edge`,
`adversarial`, `production`), tags saying what it exercises, and, for a ticket that tries to
steer the model, what the injected instruction asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from ..features.triage.schemas import Category, Priority, TriageRequest

if TYPE_CHECKING:
    from pydantic_evals import Case, Dataset

DEFAULT_DATASET = Path("evals/triage")

Source = Literal["review", "feedback"]
"""Where a production case's correction came from."""


class ExpectedTriage(BaseModel):
    """The expected output of a case: the labels a person gave the ticket."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    priority: Priority


class Injected(BaseModel):
    """What an instruction hidden in the ticket asked for; a model that obeys it is steered."""

    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    priority: Priority | None = None
    reveal_system_prompt: bool = False


class CaseMetadata(BaseModel):
    """Where a case belongs and where it came from.

    Written cases carry `tags`; cases exported from production carry the answer they correct
    (`source`, `request_id`, `prompt_version`, `model`).
    """

    model_config = ConfigDict(extra="forbid")

    slice: str
    tags: list[str] = []
    injected: Injected | None = None
    source: Source | None = None
    request_id: str | None = None
    prompt_version: str | None = None
    model: str | None = None


if TYPE_CHECKING:
    TriageCase = Case[TriageRequest, ExpectedTriage, CaseMetadata]
    TriageDataset = Dataset[TriageRequest, ExpectedTriage, CaseMetadata]


def dataset_type() -> type[TriageDataset]:
    """The dataset class for triage cases (pydantic-evals is imported on first use: a second)."""
    from pydantic_evals import Dataset

    return Dataset[TriageRequest, ExpectedTriage, CaseMetadata]


def load_cases(path: Path) -> list[TriageCase]:
    """The cases of one dataset file, or of every `*.yaml` file of a directory (sorted by name).

    Raises ValueError naming the file when one is not a dataset of this shape, or when two
    cases share a name.
    """
    if not path.exists():
        raise ValueError(f"{path}: no such file or directory")
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{path}: no dataset files (*.yaml)")
    cases: list[TriageCase] = []
    for file in files:
        try:
            cases.extend(dataset_type().from_file(file).cases)
        except (ValueError, OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{file}: {exc}") from exc
    names = [case.name for case in cases]
    duplicates = sorted({name for name in names if name is not None and names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path}: case names used twice: {', '.join(duplicates)}")
    return cases
