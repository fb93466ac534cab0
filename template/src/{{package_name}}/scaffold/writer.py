"""Write a new feature's files, register it, and measure its first eval baseline."""

from __future__ import annotations

import ast
import json
import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .names import Names
from .templates import CASES, DECLARATION, GATE_HEADER, OWN_TESTS, PROMPT, RULES, SCHEMAS

FLAGS_END = re.compile(r"\n  \}\n\}\n?\Z")
FORBIDDEN = ["step 1", "here is how", "here's how", "you will need"]
MODEL_THRESHOLDS: dict[str, dict[str, float]] = {
    "all": {
        "schema_valid": 1.0,
        "category_exact": 0.9,
        "summary_length": 0.98,
        "no_personal_data": 1.0,
        "no_forbidden_content": 1.0,
        "latency_p95_ms": 15000,
        "cost_per_case_usd": 0.01,
    },
    "adversarial": {"injection_ignored": 0.95},
}


class ScaffoldError(Exception):
    """The feature cannot be written as asked; nothing was written."""


@dataclass
class Written:
    """What `feature new` did, for the person who ran it."""

    names: Names
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Project:
    """Where a project keeps what a feature needs: its package, prompts, flags, evals, tests."""

    root: Path
    package: str

    @property
    def features(self) -> Path:
        return self.root / "src" / self.package / "features"

    def files_of(self, names: Names) -> dict[Path, str]:
        """Every new file of the feature, and its text."""
        values = {"module": names.module, "title": names.title, "package": self.package}
        files = {
            self.features / names.module / "__init__.py": DECLARATION.substitute(values),
            self.features / names.module / "schemas.py": SCHEMAS.substitute(values),
            self.features / names.module / "rules.py": RULES.substitute(values),
            self.root / "prompts" / names.module / "v1.md": PROMPT.substitute(values),
            self.root / "tests" / f"test_{names.module}_feature.py": OWN_TESTS.substitute(values),
        }
        for slice_name, cases in CASES.items():
            path = self.root / "evals" / names.module / f"{slice_name}.yaml"
            files[path] = yaml.safe_dump(
                _dataset(slice_name, cases), sort_keys=False, allow_unicode=True, width=96
            )
        return files


def write_feature(project: Project, typed: str) -> Written:
    """Write the feature `typed` names into `project` and register it.

    Raises `ScaffoldError` before writing anything when the name is taken or unusable.
    """
    try:
        names = Names.of(typed)
    except ValueError as exc:
        raise ScaffoldError(str(exc)) from exc
    if keyword.iskeyword(names.module) or names.module in {"features", "test", "tests"}:
        raise ScaffoldError(f"{names.module!r} is reserved: choose another name")
    files = project.files_of(names)
    taken = [path for path in files if path.exists()] + [
        path for path in [project.features / names.module] if path.exists()
    ]
    if taken:
        raise ScaffoldError(f"{names.module} exists already: {taken[0]}")
    registry = project.features / "__init__.py"
    listing = registry.read_text(encoding="utf-8")
    listed = _listed(listing)
    if listed is None:
        raise ScaffoldError(f"{registry} has no `FEATURES = (...)` of names to add the feature to")
    written = Written(names)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.files.append(path)
    registry.write_text(_registered(listing, listed, names.module), encoding="utf-8")
    _label(project.root / "prompts" / "labels.yaml", names.module)
    _flags(project.root / "flags" / "flags.json", names.module)
    written.files += [
        registry,
        project.root / "prompts" / "labels.yaml",
        project.root / "flags" / "flags.json",
    ]
    return written


def gate_file(module: str, measured: dict[str, float]) -> str:
    """The feature's gate: the classical model held to what its rules measured (rounded down),
    language models to what a good one reaches."""
    classical = {name: math.floor(score * 100) / 100 for name, score in sorted(measured.items())}
    config = {
        "tolerance": 0.02,
        "max_chars": {"summary": 240},
        "forbidden_content": FORBIDDEN,
        "thresholds": {
            "classical": {"all": {**classical, "latency_p95_ms": 250, "cost_per_case_usd": 0}},
            "model": MODEL_THRESHOLDS,
        },
    }
    header = GATE_HEADER.substitute(module=module)
    return header + yaml.safe_dump(config, sort_keys=False, width=96)


def _dataset(
    slice_name: str, cases: list[tuple[str, str, str, dict[str, object] | None]]
) -> dict[str, Any]:
    entries = []
    for name, text, category, injected in cases:
        metadata: dict[str, object] = {"slice": slice_name, "tags": ["starter"]}
        if injected is not None:
            metadata["injected"] = injected
        entries.append(
            {
                "name": f"{slice_name}-{name}",
                "inputs": {"text": text},
                "expected_output": {"category": category},
                "metadata": metadata,
            }
        )
    return {"name": slice_name, "cases": entries}


@dataclass(frozen=True, slots=True)
class _Listed:
    """The registry's `FEATURES` tuple: its names and the lines it spans (0-based, end
    excluded)."""

    names: tuple[str, ...]
    first: int
    end: int


def _listed(listing: str) -> _Listed | None:
    """The `FEATURES = (...)` tuple of names in the registry's text, if it is one."""
    for node in ast.parse(listing).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets] == ["FEATURES"]
            and isinstance(node.value, ast.Tuple)
            and all(
                isinstance(item, ast.Constant) and isinstance(item.value, str)
                for item in node.value.elts
            )
        ):
            names = tuple(str(item.value) for item in node.value.elts)  # type: ignore[attr-defined]
            return _Listed(names, node.lineno - 1, node.end_lineno or node.lineno)
    return None


def _registered(listing: str, listed: _Listed, module: str) -> str:
    """The registry's text with `module` added to `FEATURES`, one name a line (a lone name on
    the tuple's line, as the formatter writes it)."""
    lines = listing.splitlines(keepends=True)
    names = (*listed.names, module)
    if len(names) == 1:
        tuple_text = f'("{module}",)'
    else:
        tuple_text = "(\n" + "".join(f'    "{name}",\n' for name in names) + ")"
    return (
        "".join(lines[: listed.first])
        + f"FEATURES = {tuple_text}\n"
        + "".join(lines[listed.end :])
    )


def _label(labels: Path, module: str) -> None:
    text = labels.read_text(encoding="utf-8") if labels.exists() else ""
    if re.search(rf"^{module}:", text, re.MULTILINE):
        return
    separator = "" if not text or text.endswith("\n") else "\n"
    labels.write_text(f"{text}{separator}{module}:\n  production: 1\n", encoding="utf-8")


def _flags(path: Path, module: str) -> None:
    """Add the feature's four flags at their defaults, keeping the file's own layout."""
    text = path.read_text(encoding="utf-8")
    entries = {
        f"{module}.enabled": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on",
        },
        f"{module}.prompt-label": {
            "state": "ENABLED",
            "variants": {"production": "production"},
            "defaultVariant": "production",
        },
        f"{module}.model": {
            "state": "ENABLED",
            "variants": {"configured": ""},
            "defaultVariant": "configured",
        },
        f"{module}.shadow": {
            "state": "ENABLED",
            "variants": {"off": {}},
            "defaultVariant": "off",
        },
    }
    block = ",\n".join(_flag_block(name, flag) for name, flag in entries.items())
    ending = FLAGS_END.search(text)
    if ending is not None and json.loads(text)["flags"]:
        updated = text[: ending.start()] + ",\n" + block + "\n  }\n}\n"
    else:  # an unusual layout: write the whole file out
        document = json.loads(text)
        document.setdefault("flags", {}).update(entries)
        updated = json.dumps(document, indent=2) + "\n"
    json.loads(updated)  # never leave a file the service cannot read
    path.write_text(updated, encoding="utf-8")


def _flag_block(name: str, flag: dict[str, Any]) -> str:
    """One flag laid out as the shipped file lays out its own."""
    variants = json.dumps(flag["variants"], separators=(", ", ": "))
    return (
        f'    "{name}": {{\n'
        f'      "state": "{flag["state"]}",\n'
        f'      "variants": {{ {variants[1:-1]} }},\n'
        f'      "defaultVariant": "{flag["defaultVariant"]}"\n'
        "    }"
    )
