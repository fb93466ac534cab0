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

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, cast

import structlog
import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
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

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._prompts})

    def versions(self, name: str) -> list[Prompt]:
        """Every version of `name`, oldest first."""
        return [self._prompts[key] for key in sorted(self._prompts) if key[0] == name]

    def __len__(self) -> int:
        return len(self._prompts)


def load_prompt(path: Path, environment: SandboxedEnvironment) -> Prompt:
    """Parse and compile one prompt file, naming the file and line in any error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"{path}: {exc.strerror}") from exc
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise PromptError(f"{path}:1: expected YAML front matter between '---' lines")
    metadata = _metadata(path, match["meta"])
    body_line = text[: match.start("body")].count("\n") + 1
    sections, uses = _compile_sections(path, match["body"], body_line, environment)
    declared = set(metadata.variables)
    for variable, line in uses.items():
        if variable not in declared:
            raise PromptError(
                f"{path}:{line}: the template uses {variable!r}, which `variables` does not declare"
            )
    if unused := sorted(declared - uses.keys()):
        raise PromptError(
            f"{path}:{_front_matter_line(path, 'variables')}: declared variables {unused} "
            "are not used by the template"
        )
    return Prompt(metadata=metadata, sections=sections, source=path)


def _compile_sections(
    path: Path, body: str, body_line: int, environment: SandboxedEnvironment
) -> tuple[tuple[tuple[Role, Template], ...], dict[str, int]]:
    """Each role section compiled, and each variable the sections read with its first line."""
    headers = list(_ROLE_LINE.finditer(body))
    if body[: headers[0].start() if headers else len(body)].strip():
        raise PromptError(f"{path}:{body_line}: text before the first 'system:' or 'user:' line")
    sections: list[tuple[Role, Template]] = []
    uses: dict[str, int] = {}
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        role = cast(Role, header[1])
        source = body[header.end() : following.start() if following else len(body)]
        header_line = body_line + body[: header.start()].count("\n")  # the source's line 1
        try:
            tree = environment.parse(source)
            sections.append((role, environment.from_string(tree)))
        except TemplateSyntaxError as exc:
            line = header_line + (exc.lineno or 1) - 1
            raise PromptError(f"{path}:{line}: {role} section: {exc.message}") from exc
        unset = meta.find_undeclared_variables(tree)  # read, and not set by the template itself
        for node in tree.find_all(nodes.Name):
            if node.name in unset:
                uses.setdefault(node.name, header_line + node.lineno - 1)
    if not any(role == "user" for role, _ in sections):
        raise PromptError(f"{path}:{body_line}: no 'user:' section")
    return tuple(sections), uses


def _metadata(path: Path, front_matter: str) -> PromptMetadata:
    """Validate the front matter; errors point at the offending key's line."""
    try:
        return PromptMetadata.model_validate(yaml.safe_load(front_matter))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2  # the front matter starts on line 2
        raise PromptError(f"{path}:{line}: invalid front matter: {exc}") from exc
    except ValidationError as exc:
        errors = exc.errors()
        key = errors[0]["loc"][:1]
        line = _front_matter_line(path, str(key[0])) if key else 2
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'front matter'}: {error['msg']}"
            for error in errors
        )
        raise PromptError(f"{path}:{line}: invalid front matter: {problems}") from exc


LABELS_FILE = "labels.yaml"
PRODUCTION = "production"
LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
CHECK_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Labels:
    """Which version each label of each prompt serves, and where each is written."""

    versions: Mapping[str, Mapping[str, int]]
    lines: Mapping[tuple[str, str], int]
    prompt_lines: Mapping[str, int]
    path: Path

    def where(self, name: str, label: str | None = None) -> str:
        """`file:line` of a label, else of the prompt's entry, else of the file's first line."""
        line = self.lines.get((name, label or "")) or self.prompt_lines.get(name, 1)
        return f"{self.path}:{line}"


def load_labels(path: Path) -> Labels:
    """Read and parse a labels file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(
            f"{path}: {exc.strerror}; it maps each prompt's labels to versions"
        ) from exc
    return parse_labels(text, path)


def parse_labels(text: str, path: Path) -> Labels:
    """Parse `labels.yaml` text: prompt name, then label, then version; errors name the line."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise PromptError(f"{path}:{line}: invalid YAML: {exc}") from exc
    if root is None:
        return Labels({}, {}, {}, path)
    if not isinstance(root, yaml.MappingNode):
        raise PromptError(f"{path}:{root.start_mark.line + 1}: expected prompt names as keys")
    versions: dict[str, dict[str, int]] = {}
    lines: dict[tuple[str, str], int] = {}
    prompt_lines: dict[str, int] = {}
    for name_node, labels_node in root.value:
        name, where = name_node.value, name_node.start_mark.line + 1
        if not isinstance(labels_node, yaml.MappingNode) or not re.match(_NAME, str(name)):
            raise PromptError(
                f"{path}:{where}: expected `<prompt name>:` and its `<label>: <version>`s"
            )
        if name in prompt_lines:
            first = prompt_lines[name]
            raise PromptError(f"{path}:{where}: {name} is listed twice (first on line {first})")
        prompt_lines[name] = where
        versions[name] = {}
        for label_node, version_node in labels_node.value:
            label, version = label_node.value, version_node.value
            line = label_node.start_mark.line + 1
            if not LABEL_PATTERN.match(str(label)) or not str(version).isdigit():
                raise PromptError(f"{path}:{line}: expected `<label>: <version number>`")
            if (name, label) in lines:
                first = lines[(name, label)]
                raise PromptError(
                    f"{path}:{line}: {name} {label} is set twice (first on line {first})"
                )
            versions[name][label] = int(version)
            lines[(name, label)] = line
    return Labels(versions, lines, prompt_lines, path)


def check_catalog(
    registry: PromptRegistry, labels: Labels, feature_schemas: Mapping[str, str]
) -> None:
    """Check prompts and labels together; the first problem is raised with its file and line.

    Every feature's prompt targets the feature's output schema and has a `production` label;
    every label names a prompt and a version that exist.
    """
    for name, schema in feature_schemas.items():
        if PRODUCTION not in labels.versions.get(name, {}):
            raise PromptError(f"{labels.where(name)}: {name} needs a {PRODUCTION!r} label")
        for prompt in registry.versions(name):
            if prompt.metadata.output_schema != schema:
                raise PromptError(
                    f"{prompt.source}:{_front_matter_line(prompt.source, 'output_schema')}: "
                    f"{prompt.ref} targets {prompt.metadata.output_schema!r}, but the {name} "
                    f"feature answers with {schema!r}"
                )
    for name, versions in labels.versions.items():
        if not registry.versions(name):
            raise PromptError(f"{labels.where(name)}: there is no prompt named {name!r}")
        for label, version in versions.items():
            if not registry.has(name, version):
                raise PromptError(
                    f"{labels.where(name, label)}: {name} {label} points at version {version}, "
                    f"which does not exist"
                )


LabelMoves = Mapping[str, tuple[str | None, str | None]]
"""Each label whose version changed, before and after: `{"triage:production": ("triage@1",
"triage@2")}`; `None` where the label did not exist."""


class PromptCatalog:
    """The prompts of a directory and their labels, checked together and kept current.

    `feature_schemas` names the output schema each feature's prompt must target (e.g.
    `{"triage": "triage_result"}`); every such prompt needs a `production` label.
    `on_labels_moved` is told which labels a reload moved (for the audit trail).
    `labels_file` replaces the directory's `labels.yaml` (a ConfigMap beside an image's prompts).
    """

    def __init__(
        self,
        directory: Path,
        feature_schemas: Mapping[str, str],
        *,
        labels_file: Path | None = None,
        on_labels_moved: Callable[[LabelMoves], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._labels_file = labels_file or directory / LABELS_FILE
        self._feature_schemas = dict(feature_schemas)
        self._on_labels_moved = on_labels_moved
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
        before = _label_summary(self._labels)
        try:
            self._registry, self._labels = self._load()
        except (PromptError, OSError) as exc:  # OSError: a file vanished while being read
            log.error("prompts_reload_refused", error=str(exc))
        else:
            after = _label_summary(self._labels)
            log.info("prompts_reloaded", labels=after)
            moves = {
                label: (before.get(label), after.get(label))
                for label in sorted(before.keys() | after.keys())
                if before.get(label) != after.get(label)
            }
            if moves and self._on_labels_moved is not None:
                self._on_labels_moved(moves)
        self._fingerprint = fingerprint

    def _scan(self) -> tuple[tuple[str, bytes], ...]:
        """Each file and a digest of its content. Not modification times: their resolution is
        coarse, and two quick edits of the same size would look like one."""
        files = sorted([*self._directory.rglob("*.md"), self._labels_file])
        digests = []
        for path in files:
            try:
                digests.append((str(path), hashlib.sha256(path.read_bytes()).digest()))
            except OSError:
                continue
        return tuple(digests)

    def _load(self) -> tuple[PromptRegistry, Labels]:
        registry = PromptRegistry.from_directory(self._directory)
        labels = load_labels(self._labels_file)
        check_catalog(registry, labels, self._feature_schemas)
        return registry, labels


def _front_matter_line(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _label_summary(labels: Labels) -> dict[str, str]:
    """`{"triage:production": "triage@2", ...}`: what each label serves, for the log."""
    return {
        f"{name}:{label}": f"{name}@{version}"
        for name, versions in labels.versions.items()
        for label, version in versions.items()
    }
