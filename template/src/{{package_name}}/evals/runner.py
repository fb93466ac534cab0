"""Run a dataset through one model and prompt label, score every answer, and report.

Cases are answered `concurrency` at a time, each by the task (which retries transient
failures); then every scorer looks at the answer. A scorer that raises (a judge whose call
failed) is recorded against the case, never counted as a pass. Nothing falls back: an eval
measures the model it names.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..costs.pricing import PriceBook
from ..llm.classical import PROVIDER as CLASSICAL
from ..llm.context_window import context_window
from ..llm.errors import ModelConfigurationError
from ..llm.factory import build_model
from ..llm.port import Model
from ..prompts import PromptCatalog
from ..registry import Features
from .cases import load_cases
from .gate import GateConfig
from .judge import TextQuality, metric
from .report import CaseResult, EvalReport, build_report
from .scorers import Scorer, generic_scorers
from .settings import EvalSettings
from .task import FeatureTask

if TYPE_CHECKING:
    from ..feature import Feature
    from .cases import EvalCase


@dataclass(frozen=True, slots=True)
class RunOptions:
    """One eval run: which feature and model, which prompt label, which cases, how hard to
    push."""

    feature: str
    model: str
    prompt_label: str
    dataset: Path
    concurrency: int = 4
    retries: int = 2
    judge_model: str | None = None


async def run_eval(
    options: RunOptions,
    settings: EvalSettings,
    config: GateConfig,
    features: Features,
    model: Model | None = None,
) -> EvalReport:
    """Score `options.model` (or `model`, already built) with the prompt `options.prompt_label`
    serves on every case of `options.dataset`, for `options.feature`."""
    feature = features.get(options.feature)
    cases = load_cases(feature, options.dataset)
    prompt = PromptCatalog(settings.prompts_dir, features.output_schemas).get(
        feature.name, options.prompt_label
    )
    unknown = sorted(set(config.max_chars) - set(feature.guarded))
    if unknown:
        raise ValueError(f"max_chars names {unknown}: {feature.name} guards {feature.guarded}")
    model = model or build_model(options.model, features.rules)
    judge, skipped = _judge(options.judge_model, feature, features)
    blank = dict.fromkeys(feature.request.model_fields, "")
    system = "\n".join(m.content for m in prompt.render(blank) if m.role == "system")
    scorers: list[Scorer] = generic_scorers(
        feature,
        max_chars=config.max_chars,
        forbidden=config.forbidden_content,
        system_prompt=system,
    )
    scorers += feature.scorers
    if judge is not None:
        scorers.append(TextQuality(judge, feature))
    task = FeatureTask(
        feature,
        model,
        prompt,
        PriceBook(settings.model_prices),
        context_window(model.name, settings.context_windows),
        retries=options.retries,
    )
    try:
        with typer.progressbar(
            length=len(cases), label=f"{model.name} {prompt.ref}", file=sys.stderr
        ) as progress:
            results = await run_cases(cases, task, scorers, options.concurrency, progress.update)
    finally:
        await model.aclose()
        if judge is not None:
            await judge.aclose()
    return build_report(
        results, model=model.name, prompt=prompt.ref, dataset=str(options.dataset), skipped=skipped
    )


async def run_cases(
    cases: Sequence[EvalCase],
    task: FeatureTask,
    scorers: Sequence[Scorer],
    concurrency: int,
    advance: Callable[[int], None],
) -> list[CaseResult]:
    """Answer and score every case, `concurrency` at a time; `advance(1)` after each."""
    slots = asyncio.Semaphore(concurrency)

    async def one(case: EvalCase) -> CaseResult:
        async with slots:
            answer = await task(case.inputs)
        scores: dict[str, float] = {}
        errors: dict[str, str] = {}
        for scorer in scorers:
            try:
                scores.update(await scorer.score(case, answer))
            except Exception as exc:  # a scorer's failure is part of the result, not a crash
                errors[type(scorer).__name__] = f"{type(exc).__name__}: {exc}"
        advance(1)
        return CaseResult(
            name=case.name or "",
            slice=case.metadata.slice if case.metadata else "unsliced",
            scores={name: float(value) for name, value in sorted(scores.items())},
            answer=answer,
            scorer_errors=errors,
        )

    return list(await asyncio.gather(*(one(case) for case in cases)))


def _judge(
    spec: str | None, feature: Feature, features: Features
) -> tuple[Model | None, dict[str, str]]:
    """The judge model, or None and why the judge is skipped."""
    if not spec:
        return None, {metric(feature): "no judge model (set --judge-model or EVAL_JUDGE_MODEL)"}
    if spec.partition(":")[0] == CLASSICAL:
        return None, {metric(feature): "the classical model cannot judge prose"}
    try:
        return build_model(spec, features.rules), {}
    except ModelConfigurationError as exc:
        return None, {metric(feature): f"judge {spec} unavailable: {exc}"}
