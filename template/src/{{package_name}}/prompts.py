"""Prompts as versioned files, loaded and checked once at start-up.

A prompt file is YAML front matter followed by role sections:

    ---
    name: triage
    version: 1
    description: ...
    variables: [subject, body]
    output_schema: triage_result
    temperature: 0
    max_output_tokens: 400
    ---
    system:
    You are ...
    user:
    <ticket>{{ subject }}</ticket>

Sections are rendered in a Jinja sandbox with strict undefined variables. User input is only
ever passed as a variable value, never as template source, so it cannot run template code.

Versions are files; **labels** (`production`, `canary`, ...) in `labels.yaml` beside them say
which version each label serves. `PromptCatalog` loads both, checks them together (every label
points at a version that exists, every version of a feature's prompt targets the feature's
output schema) and reloads them when a file changes, so moving a label is a deployment without a
restart. Problems are reported with the file and line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, cast

import structlog
import yaml
from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .llm.port import GenerationSettings, Message, Role

log = structlog.get_logger(__name__)

_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)
_ROLE_LINE = re.compile(r"^(system|user|assistant):[ \t]*$", re.MULTILINE)
_NAME = r"^[a-z][a-z0-9_]*$"


class PromptError(Exception):
    """A prompt file is malformed, or a render was asked for with the wrong variables."""


class PromptMetadata(BaseModel):
    """The front matter of a prompt file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Annotated[str, Field(pattern=_NAME)]
    version: Annotated[int, Field(ge=1)]
    description: Annotated[str, Field(min_length=1)]
    variables: list[Annotated[str, Field(pattern=_NAME)]]
    output_schema: Annotated[str, Field(pattern=_NAME)]
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    max_output_tokens: Annotated[int, Field(ge=1)] | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """A loaded prompt: its metadata and one compiled template per message."""

    metadata: PromptMetadata
    sections: tuple[tuple[Role, Template], ...]
    source: Path

    @property
    def ref(self) -> str:
        """`name@version`, recorded wherever the prompt was used."""
        return f"{self.metadata.name}@{self.metadata.version}"

    @property
    def settings(self) -> GenerationSettings:
        return GenerationSettings(
            temperature=self.metadata.temperature,
            max_output_tokens=self.metadata.max_output_tokens,
        )

    def render(self, variables: Mapping[str, str]) -> tuple[Message, ...]:
        """Render every section; the variables given must be exactly the declared ones."""
        declared = set(self.metadata.variables)
        missing, unexpected = declared - variables.keys(), variables.keys() - declared
        if missing or unexpected:
            raise PromptError(
                f"{self.ref}: missing variables {sorted(missing)}, unexpected {sorted(unexpected)}"
            )
        return tuple(
            Message(role=role, content=template.render(variables).strip())
            for role, template in self.sections
        )


class PromptRegistry:
    """All prompt versions found under a directory, looked up by name and version."""

    def __init__(self, prompts: Iterable[Prompt]) -> None:
        self._prompts: dict[tuple[str, int], Prompt] = {}
        for prompt in prompts:
            key = (prompt.metadata.name, prompt.metadata.version)
            if key in self._prompts:
                raise PromptError(f"{prompt.ref} is defined twice")
            self._prompts[key] = prompt

    @classmethod
    def from_directory(cls, directory: Path) -> PromptRegistry:
        """Load every `*.md` file below `directory`; any bad file stops the load."""
        if not directory.is_dir():
            raise PromptError(f"prompt directory {directory} does not exist")
        environment = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        return cls(load_prompt(path, environment) for path in sorted(directory.rglob("*.md")))

    def get(self, name: str, version: int) -> Prompt:
        try:
            return self._prompts[(name, version)]
        except KeyError:
            raise PromptError(f"no prompt {name}@{version}") from None

    def has(self, name: str, version: int) -> bool:
        return (name, version) in self._prompts

    def versions(self, name: str) -> list[Prompt]:
        """Every version of `name`, oldest first."""
        return [self._prompts[key] for key in sorted(self._prompts) if key[0] == name]

    def __len__(self) -> int:
        return len(self._prompts)


def load_prompt(path: Path, environment: SandboxedEnvironment) -> Prompt:
    """Parse and compile one prompt file, naming the file in any error."""
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise PromptError(f"{path}: expected YAML front matter between '---' lines")
    try:
        metadata = PromptMetadata.model_validate(yaml.safe_load(match["meta"]))
    except (yaml.YAMLError, ValidationError) as exc:
        raise PromptError(f"{path}: invalid front matter: {exc}") from exc
    body = match["body"]
    roles = _ROLE_LINE.split(body)
    if roles[0].strip():
        raise PromptError(f"{path}: text before the first 'system:' or 'user:' line")
    sections: list[tuple[Role, Template]] = []
    used: set[str] = set()
    for role, source in zip(roles[1::2], roles[2::2], strict=True):
        try:
            used |= meta.find_undeclared_variables(environment.parse(source))
            sections.append((cast(Role, role), environment.from_string(source)))
        except TemplateError as exc:
            raise PromptError(f"{path}: {role} section: {exc}") from exc
    if not any(role == "user" for role, _ in sections):
        raise PromptError(f"{path}: no 'user:' section")
    if used != set(metadata.variables):
        raise PromptError(
            f"{path}: the template uses {sorted(used)} but declares {sorted(metadata.variables)}"
        )
    return Prompt(metadata=metadata, sections=tuple(sections), source=path)


LABELS_FILE = "labels.yaml"
PRODUCTION = "production"
_LABEL = re.compile(r"^[a-z][a-z0-9_-]*$")
CHECK_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Labels:
    """Which version each label of each prompt serves, and where each is written."""

    versions: Mapping[str, Mapping[str, int]]
    lines: Mapping[tuple[str, str], int]
    path: Path

    def line(self, name: str, label: str) -> str:
        return f"{self.path}:{self.lines.get((name, label), 1)}"


def load_labels(path: Path) -> Labels:
    """Parse `labels.yaml`: prompt name, then label, then version; errors name file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(
            f"{path}: {exc.strerror}; it maps each prompt's labels to versions"
        ) from exc
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: invalid YAML: {exc}") from exc
    if root is None:
        return Labels({}, {}, path)
    if not isinstance(root, yaml.MappingNode):
        raise PromptError(f"{path}:{root.start_mark.line + 1}: expected prompt names as keys")
    versions: dict[str, dict[str, int]] = {}
    lines: dict[tuple[str, str], int] = {}
    for name_node, labels_node in root.value:
        name = name_node.value
        where = f"{path}:{name_node.start_mark.line + 1}"
        if not isinstance(labels_node, yaml.MappingNode) or not re.match(_NAME, str(name)):
            raise PromptError(f"{where}: expected `<prompt name>:` and its `<label>: <version>`s")
        for label_node, version_node in labels_node.value:
            label, version = label_node.value, version_node.value
            line = label_node.start_mark.line + 1
            if not _LABEL.match(str(label)) or not str(version).isdigit():
                raise PromptError(f"{path}:{line}: expected `<label>: <version number>`")
            versions.setdefault(name, {})[label] = int(version)
            lines[(name, label)] = line
    return Labels(versions, lines, path)


class PromptCatalog:
    """The prompts of a directory and their labels, checked together and kept current.

    `feature_schemas` names the output schema each feature's prompt must target (e.g.
    `{"triage": "triage_result"}`); every such prompt needs a `production` label.
    """

    def __init__(
        self,
        directory: Path,
        feature_schemas: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._feature_schemas = dict(feature_schemas)
        self._clock = clock
        self._fingerprint = self._scan()
        self._registry, self._labels = self._load()
        self._checked_at = clock()

    @property
    def labels(self) -> Labels:
        self.refresh()
        return self._labels

    @property
    def registry(self) -> PromptRegistry:
        self.refresh()
        return self._registry

    def get(self, name: str, label: str) -> Prompt:
        """The version `label` serves; an unknown label is a `PromptError`."""
        self.refresh()
        version = self._labels.versions.get(name, {}).get(label)
        if version is None:
            raise PromptError(f"{name} has no label {label!r}")
        return self._registry.get(name, version)

    def refresh(self) -> None:
        """Reload if a prompt file or the labels changed (checked at most once a second).

        A change that does not validate is refused: the last good prompts and labels stay in
        force, and the refusal is logged with the file and line.
        """
        now = self._clock()
        if now - self._checked_at < CHECK_INTERVAL_SECONDS:
            return
        self._checked_at = now
        fingerprint = self._scan()
        if fingerprint == self._fingerprint:
            return
        try:
            self._registry, self._labels = self._load()
        except PromptError as exc:
            _log_refused(str(exc))
        self._fingerprint = fingerprint

    def _scan(self) -> tuple[tuple[str, int, int], ...]:
        files = sorted([*self._directory.rglob("*.md"), self._directory / LABELS_FILE])
        stamps = []
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _load(self) -> tuple[PromptRegistry, Labels]:
        registry = PromptRegistry.from_directory(self._directory)
        labels = load_labels(self._directory / LABELS_FILE)
        for name, schema in self._feature_schemas.items():
            if PRODUCTION not in labels.versions.get(name, {}):
                raise PromptError(f"{labels.path}: {name} needs a {PRODUCTION!r} label")
            for prompt in registry.versions(name):
                if prompt.metadata.output_schema != schema:
                    raise PromptError(
                        f"{prompt.source}:{_front_matter_line(prompt.source, 'output_schema')}: "
                        f"{prompt.ref} targets {prompt.metadata.output_schema!r}, but the {name} "
                        f"feature answers with {schema!r}"
                    )
        for name, versions in labels.versions.items():
            for label, version in versions.items():
                if not registry.has(name, version):
                    raise PromptError(
                        f"{labels.line(name, label)}: {name} {label} points at version {version}, "
                        f"which does not exist"
                    )
        return registry, labels


def _front_matter_line(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _log_refused(error: str) -> None:
    log.error("prompts_reload_refused", error=error)
