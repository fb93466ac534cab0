"""The feature contract: what a team declares about its feature, and nothing the platform does.

A feature is a folder under `features/` whose `__init__.py` builds one `Feature` and whose
name is listed in `features/__init__.py`. From the declaration alone the platform serves it:
the JSON and streaming routes, the flags, the prompt by label, the cache, the token quota,
budgets, the fallback chain ending in `rules`, the guardrails in and out, the answer record,
feedback and review, shadow runs and telemetry.

The platform reads features through this contract only; it never imports a feature module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, create_model

from .guardrails.injection_policy import InjectionAction
from .llm.classical import Rules
from .llm.port import OutputSchema

if TYPE_CHECKING:
    from .evals.scorers import Scorer

FEATURE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""A feature's name: flags, prompt folders, budgets, ledger rows and metrics all carry it."""

ASSESSMENT_FIELDS = ("needs_human", "confidence")
"""Every result says whether a person should look, and how sure it is: review reads both."""


class Assessed(Protocol):
    """A result's own view of itself, which the review policy reads."""

    @property
    def needs_human(self) -> bool: ...

    @property
    def confidence(self) -> float: ...


class FeatureError(ValueError):
    """A feature's declaration does not fit the contract; raised when it is built."""


@dataclass(frozen=True, kw_only=True)
class Feature:
    """What one feature owns: its name, schemas, offline rules and thresholds.

    `request` fields are all text; they become the prompt's variables. `result` is what the
    model must answer (its JSON schema is sent with each request) and carries `needs_human`
    and `confidence`. `guarded` names the result's free-text fields the output guardrails
    inspect, `streamed` the one a stream shows while it is written, `truncated` the request
    field cut when a model's context window is too small, and `compared` the result fields two
    answers must share to agree (shadow runs, reviews and eval cases). `correction` is what a
    person sends to say what the answer should have been.
    """

    name: str
    summary: str
    """One line for the API docs: what the feature does for a caller."""
    request: type[BaseModel]
    result: type[BaseModel]
    correction: type[BaseModel]
    rules: Rules
    """The offline answer that ends every fallback chain: request fields in, result out."""
    guarded: tuple[str, ...]
    streamed: str
    truncated: str
    compared: tuple[str, ...]
    review_threshold: float = 0.6
    """Answers less confident than this go to human review (setting: `REVIEW_THRESHOLDS`)."""
    injection: InjectionAction = "flag"
    """The default action on prompt injection (setting: `INJECTION_POLICY`)."""
    scorers: tuple[Scorer, ...] = ()
    """Eval checks of the feature's own, beside those every feature gets (`evals/scorers.py`)."""
    response: type[BaseModel] = field(init=False, repr=False)
    """The API answer: the result's fields, then `ANSWER_FIELDS`."""
    output: OutputSchema = field(init=False, repr=False)
    """The result's JSON schema as every model request carries it."""
    expected: type[BaseModel] = field(init=False, repr=False)
    """An eval case's expected output: the `compared` fields, as a person labels them."""

    def __post_init__(self) -> None:
        if not FEATURE_NAME.match(self.name):
            raise FeatureError(f"feature name {self.name!r} must match {FEATURE_NAME.pattern}")
        self._require_text(self.request, tuple(self.request.model_fields), "request")
        self._require_text(self.result, (*self.guarded, self.streamed), "result")
        if self.streamed not in self.guarded:
            raise FeatureError(f"{self.name}: streamed field {self.streamed!r} must be guarded")
        if self.truncated not in self.request.model_fields:
            raise FeatureError(f"{self.name}: truncated field {self.truncated!r} not in request")
        missing = [
            name
            for name in (*ASSESSMENT_FIELDS, *self.compared)
            if name not in self.result.model_fields
        ]
        if missing:
            raise FeatureError(f"{self.name}: result {self.result.__name__} lacks {missing}")
        corrected = self.correction.model_fields
        unknown = sorted(set(corrected) - set(self.result.model_fields))
        unrequired = [
            name
            for name in self.compared
            if name not in corrected or not corrected[name].is_required()
        ]
        if unknown or unrequired:
            raise FeatureError(
                f"{self.name}: a correction must require every compared field (missing or "
                f"optional: {unrequired}) and carry only result fields (unknown: {unknown})"
            )
        if not 0.0 <= self.review_threshold <= 1.0:
            raise FeatureError(f"{self.name}: review_threshold must be between 0 and 1")
        object.__setattr__(self, "response", _response_model(self.result))
        schema = OutputSchema(self.output_schema, self.result.model_json_schema())
        object.__setattr__(self, "output", schema)
        object.__setattr__(self, "expected", _expected_model(self.result, self.compared))

    @property
    def output_schema(self) -> str:
        """The name the prompt's `output_schema` and the classical model know the result by."""
        return f"{self.name}_result"

    @property
    def path(self) -> str:
        """The route, under `/v1`: the name with hyphens, e.g. `/contract-summary`."""
        return "/" + self.name.replace("_", "-")

    def agreement(self, one: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, bool]:
        """Per compared field, whether two answers (or an answer and a correction) agree."""
        return {name: one.get(name) == other.get(name) for name in self.compared}

    def _require_text(self, model: type[BaseModel], names: tuple[str, ...], role: str) -> None:
        for name in names:
            info = model.model_fields.get(name)
            if info is None or info.annotation is not str:
                raise FeatureError(f"{self.name}: {role} field {name!r} must be a str field")


ANSWER_FIELDS: Mapping[str, tuple[type, str]] = {
    "model": (str, "The provider:model that answered."),
    "prompt_version": (str, "The prompt used, as name@version."),
    "degraded": (bool, "True when a fallback model answered instead of the first choice."),
    "cached": (bool, "True when the answer was reused from an identical request."),
}
"""What the platform adds to every feature's result in the API answer."""


def _expected_model(result: type[BaseModel], compared: tuple[str, ...]) -> type[BaseModel]:
    """The compared fields of `result`, all required, nothing else."""
    fields: dict[str, Any] = {
        name: (result.model_fields[name].annotation, ...) for name in compared
    }
    name = result.__name__.removesuffix("Result") + "Expected"
    return create_model(
        name, __config__=ConfigDict(extra="forbid"), __module__=result.__module__, **fields
    )


def _response_model(result: type[BaseModel]) -> type[BaseModel]:
    """The API answer: the result's fields, then what produced it (`ANSWER_FIELDS`)."""
    fields: dict[str, Any] = {
        name: (kind, Field(description=docs)) for name, (kind, docs) in ANSWER_FIELDS.items()
    }
    name = result.__name__.removesuffix("Result") + "Response"
    return create_model(name, __base__=result, __module__=result.__module__, **fields)
