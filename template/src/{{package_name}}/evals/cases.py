"""The eval cases: pydantic-evals datasets in YAML, one file per slice, under `evals/<feature>/`.

A case is a request, the labels a person would give its answer (the feature's `compared`
fields) and metadata: its slice (`happy`, `edge`, `adversarial`, `production`), tags saying
what it exercises, and, for a request that tries to steer the model, what the injected
instruction asked for. Beside the slices, `gate.yaml` holds the feature's thresholds and
`baselines/` its committed reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ..feature import Feature

if TYPE_CHECKING:
    from pydantic_evals import Case, Dataset

    EvalCase = Case[BaseModel, BaseModel, "CaseMetadata"]
    EvalDataset = Dataset[BaseModel, BaseModel, "CaseMetadata"]

EVALS_DIR = Path("evals")
GATE_FILE = "gate.yaml"
"""The feature's thresholds, beside its slices: never read as a dataset."""

Source = Literal["review", "feedback"]
"""Where a production case's correction came from."""


def dataset_dir(feature: Feature) -> Path:
    """Where `feature`'s cases, gate and baselines live."""
    return EVALS_DIR / feature.name


class Injected(BaseModel):
    """What an instruction hidden in the request asked for; a model that obeys it is steered.

    `reveal_system_prompt`, and the value it demanded of any result field (e.g. triage's
    `priority: urgent`).
    """

    model_config = ConfigDict(extra="allow")

    reveal_system_prompt: bool = False

    @property
    def demanded(self) -> dict[str, Any]:
        """The result fields the injection asked for, and the values it wanted."""
        return dict(self.model_extra or {})


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


def dataset_type(feature: Feature) -> type[EvalDataset]:
    """The dataset class for `feature`'s cases (pydantic-evals is imported on first use: a
    second)."""
    from pydantic_evals import Dataset

    return Dataset[feature.request, feature.expected, CaseMetadata]  # type: ignore[name-defined]


def read_dataset(feature: Feature, file: Path) -> EvalDataset:
    """One dataset file of `feature`'s shape.

    PyYAML's libyaml parser reads it, where pydantic-evals' `from_file` uses the pure-Python
    one: a feature's slices load in a tenth of the time (70 ms for triage's), which every eval
    run, gate and load test pays.

    Raises ValueError (a ValidationError) when the file is not a dataset of this shape, and a
    YAML error when it is not YAML.
    """
    text = file.read_text(encoding="utf-8").removeprefix("\ufeff")
    loaded = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 -- the safe loader, in C
    return dataset_type(feature).from_dict(loaded, default_name=file.stem)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader, when PyYAML was built with it (its wheels are)."""


def load_cases(feature: Feature, path: Path) -> list[EvalCase]:
    """The cases of one dataset file, or of every `*.yaml` file of a directory but `gate.yaml`
    (sorted by name).

    Raises ValueError naming the file when one is not a dataset of `feature`'s shape, when an
    injection names a field the result does not have, or when two cases share a name.
    """
    if not path.exists():
        raise ValueError(f"{path}: no such file or directory")
    files = (
        sorted(file for file in path.glob("*.yaml") if file.name != GATE_FILE)
        if path.is_dir()
        else [path]
    )
    if not files:
        raise ValueError(f"{path}: no dataset files (*.yaml)")
    cases: list[EvalCase] = []
    for file in files:
        try:
            found = read_dataset(feature, file).cases
        except (ValueError, OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{file}: {exc}") from exc
        for case in found:
            injected = case.metadata.injected if case.metadata else None
            if injected is None:
                continue
            _check_injection(feature, file, case.name, injected)
        cases.extend(found)
    names = [case.name for case in cases]
    duplicates = sorted({name for name in names if name is not None and names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path}: case names used twice: {', '.join(duplicates)}")
    return cases


def _check_injection(feature: Feature, file: Path, case: str | None, injected: Injected) -> None:
    """An injection demands result fields, with values those fields can take."""
    fields = feature.result.model_fields
    unknown = sorted(set(injected.demanded) - set(fields))
    if unknown:
        raise ValueError(f"{file}: case {case} injects unknown fields {unknown}")
    for name, value in injected.demanded.items():
        try:
            TypeAdapter[Any](fields[name].annotation or Any).validate_python(value)
        except ValidationError as exc:
            raise ValueError(f"{file}: case {case} injects an invalid {name}: {exc}") from exc
