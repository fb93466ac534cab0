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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, cast

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .llm.port import GenerationSettings, Message, Role

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
    return Prompt(metadata=metadata, sections=tuple(sections))
