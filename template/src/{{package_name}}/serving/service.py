"""One feature's requests, answered: plan, cache, quota, the model chain, guardrails, record.

Around the model call it applies what every feature gets: the plan (the flags' decision for
this tenant and the prompt-injection policy, in `plan.py`), the response cache, the tenant's token
quota, the call context metering records on every span, ledger row and log line, the output
guardrails on the feature's `guarded` fields, the record of the answer (for feedback and human
review), and the shadow run after the response.

An answer the output guardrails block is replaced by the classical model's answer; so is one a
model declined to finish streaming. Answers served after a refusal or a block are marked
`degraded` and sent to human review (`needs_human`). When the classical model's own answer is
blocked, the request fails with `OutputBlockedError` (a 422 problem).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from functools import partial

from pydantic import BaseModel

from ..cache import CacheMode, ResponseCache, cache_key, normalise
from ..costs.pricing import to_nano_usd
from ..database.writer import RowWriter
from ..feature import Assessed, Feature
from ..guardrails.output import OutputGuard
from ..llm.deadline import Deadline
from ..llm.errors import EveryModelRefusedError, ModelRefusalError
from ..llm.fallback import Served
from ..llm.port import ModelRequest, TextDelta
from ..llm.tenant_chains import TenantChains
from ..llm.tokens import request_tokens
from ..metering import DEFAULT_MAX_OUTPUT_TOKENS, CallContext, Metering
from ..rate_limits import TenantRateLimiter
from ..settings import CLASSICAL_MODEL
from ..shadow.runner import ShadowRunner
from .answers import answer_row, answered, with_guarded
from .plan import Plan, Planner
from .requests import fit, render
from .shadow import LiveAnswer, ShadowJobs
from .streaming import Progress, has_field, partial_field


@dataclass(frozen=True, slots=True)
class FeatureService:
    """Answers one feature's requests with a chain of models, prompts chosen by label, flags
    per tenant."""

    feature: Feature
    planner: Planner
    chains: TenantChains
    review_threshold: float
    metering: Metering
    rate_limiter: TenantRateLimiter
    cache: ResponseCache
    writer: RowWriter
    shadow: ShadowRunner
    shadow_jobs: ShadowJobs
    output_guard: OutputGuard

    async def answer(
        self,
        received: BaseModel,
        deadline: Deadline,
        *,
        tenant: str,
        request_id: str | None,
        cache_mode: CacheMode = "use",
    ) -> BaseModel:
        """Answer `received`; answers under the confidence threshold go to a human.

        The model sees the request as the injection policy lets it through (`inputs`); the
        answer record keeps it as received, for reviewers and exported eval cases."""
        started = time.perf_counter()
        inputs, plan = self.planner.plan(received, tenant, request_id)
        key = self._cache_key(plan, inputs)
        cached = await self.cache.lookup(key, cache_mode, self.feature.name)
        if cached is not None:
            answer = self.feature.response.model_validate_json(cached)
            answer = answer.model_copy(
                update={
                    "cached": True,
                    "degraded": False,
                    "needs_human": answered(answer).needs_human or plan.flagged,
                }
            )
            self.metering.cache_hit(plan.call, answered(answer).model, _elapsed_ms(started))
            self._record(plan.call, received, answer)
            return answer
        request = render(self.feature, plan.prompt, inputs)
        await self._admit_tokens(request, tenant)
        try:
            served = await self._generate(plan, inputs, request, deadline, plan.first)
        except EveryModelRefusedError:
            self.output_guard.refused(feature=self.feature.name, answered_by=None)
            raise
        guarded = self._guarded(plan, request, served)
        if guarded is None:
            answer = await self._replacement(plan, inputs, request, deadline)
        else:
            answer = guarded
            if not served.degraded:
                await self.cache.save(key, answer.model_dump_json().encode(), cache_mode)
            self._maybe_shadow(plan, inputs, answer, served, _elapsed_ms(started))
        self._record(plan.call, received, answer)
        return answer

    async def answer_stream(
        self, received: BaseModel, deadline: Deadline, *, tenant: str, request_id: str | None
    ) -> AsyncIterator[Progress | BaseModel]:
        """Like `answer`, reporting the streamed field as it is written, then the full answer.

        Flags and the token quota are checked before the stream is returned, so a refusal is
        still an HTTP status. Streams are not cached: their point is the model writing live.
        """
        started = time.perf_counter()
        inputs, plan = self.planner.plan(received, tenant, request_id)
        request = render(self.feature, plan.prompt, inputs)
        await self._admit_tokens(request, tenant)
        return self._stream(plan, received, inputs, request, deadline, started)

    async def _stream(
        self,
        plan: Plan,
        received: BaseModel,
        inputs: Mapping[str, str],
        request: ModelRequest,
        deadline: Deadline,
        started: float,
    ) -> AsyncIterator[Progress | BaseModel]:
        streamed = self.feature.streamed
        answer = ""
        shown = ""
        events = self.chains.for_tenant(plan.call.tenant).stream(
            partial(fit, self.feature, plan.prompt, inputs, request),
            self.feature.result,
            observer=self.metering.for_request(plan.call),
            deadline=deadline,
            input_chars=_input_chars(inputs),
            first=plan.first,
        )
        system_prompt = _system_prompt(request)
        showing = True  # until the text so far fails an output guardrail
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    answer += event.text
                    so_far = self.output_guard.preview(
                        partial_field(answer, streamed),
                        system_prompt,
                        complete=has_field(answer, streamed),
                    )
                    showing = showing and so_far is not None
                    if showing and so_far and so_far != shown:
                        shown = so_far
                        yield Progress(streamed, shown)
                    continue
                response = self._guarded(plan, request, event)
                if response is None:
                    response = await self._replacement(plan, inputs, request, deadline)
                else:
                    self._maybe_shadow(plan, inputs, response, event, _elapsed_ms(started))
                self._record(plan.call, received, response)
                yield response
        except EveryModelRefusedError:
            self.output_guard.refused(feature=self.feature.name, answered_by=None)
            raise
        except ModelRefusalError:  # declined after its stream began: too late to fall back
            response = await self._replacement(plan, inputs, request, deadline)
            self.output_guard.refused(
                feature=self.feature.name, answered_by=answered(response).model
            )
            self._record(plan.call, received, response)
            yield response

    async def _admit_tokens(self, request: ModelRequest, tenant: str) -> None:
        """Count the call's worst-case tokens against the tenant's per-minute token quota."""
        output = request.settings.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
        await self.rate_limiter.admit_tokens(tenant, request_tokens(request.messages) + output)

    def _cache_key(self, plan: Plan, inputs: Mapping[str, str]) -> str:
        """The tenant, prompt version, the model that would answer first, its parameters, and
        the input: one tenant never gets an answer another's request paid for, nor learns from a
        hit what another sent."""
        settings = plan.prompt.settings
        primary = self.chains.for_tenant(plan.call.tenant).primary
        return cache_key(
            (
                plan.call.tenant,
                plan.prompt.ref,
                plan.first or primary(_input_chars(inputs)),
                repr((settings.temperature, settings.max_output_tokens)),
                *(normalise(text) for text in inputs.values()),
            )
        )

    async def _generate(
        self,
        plan: Plan,
        inputs: Mapping[str, str],
        request: ModelRequest,
        deadline: Deadline,
        first: str | None,
    ) -> Served[BaseModel]:
        return await self.chains.for_tenant(plan.call.tenant).generate(
            partial(fit, self.feature, plan.prompt, inputs, request),
            self.feature.result,
            observer=self.metering.for_request(plan.call),
            deadline=deadline,
            input_chars=_input_chars(inputs),
            first=first,
        )

    def _guarded(
        self, plan: Plan, request: ModelRequest, served: Served[BaseModel]
    ) -> BaseModel | None:
        """The answer as the output guardrails let it out, or None when it must be replaced.

        Nothing replaces the classical model's answer: when it is blocked, the guard raises.
        """
        if served.refused:
            self.output_guard.refused(feature=self.feature.name, answered_by=served.model)
        answer = self._respond(plan, served)
        if served.model == CLASSICAL_MODEL:
            return self._last_resort(answer, request, served.model)
        system_prompt = _system_prompt(request)
        guarded = {}
        for name in self.feature.guarded:
            checked = self.output_guard.check(
                getattr(answer, name), system_prompt, feature=self.feature.name, model=served.model
            )
            if checked is None:
                return None
            guarded[name] = checked
        return with_guarded(answer, guarded)

    async def _replacement(
        self, plan: Plan, inputs: Mapping[str, str], request: ModelRequest, deadline: Deadline
    ) -> BaseModel:
        """The classical model's answer instead of one blocked or declined: degraded, and sent to
        human review."""
        served = await self._generate(plan, inputs, request, deadline, CLASSICAL_MODEL)
        answer = self._respond(plan, replace(served, degraded=True), review=True)
        return self._last_resort(answer, request, served.model)

    def _last_resort(self, answer: BaseModel, request: ModelRequest, model: str) -> BaseModel:
        """The classical model's answer as the guardrails let it out; they raise, not replace."""
        system_prompt = _system_prompt(request)
        guarded = {
            name: self.output_guard.check_last_resort(
                getattr(answer, name), system_prompt, feature=self.feature.name, model=model
            )
            for name in self.feature.guarded
        }
        return with_guarded(answer, guarded)

    def _respond(self, plan: Plan, served: Served[BaseModel], *, review: bool = False) -> BaseModel:
        """The API answer; `review` (or a model's refusal, or low confidence) flags it for a
        human."""
        result = served.output
        assessed: Assessed = answered(result)
        fields = dict(result)
        fields["needs_human"] = (
            review
            or plan.flagged
            or served.refused
            or assessed.needs_human
            or assessed.confidence < self.review_threshold
        )
        return self.feature.response.model_construct(
            **fields,
            model=served.model,
            prompt_version=plan.prompt.ref,
            degraded=served.degraded or not plan.decision.enabled,
            cached=False,
        )

    def _record(self, call: CallContext, received: BaseModel, answer: BaseModel) -> None:
        self.writer.record(answer_row(call, received, answer))

    def _maybe_shadow(
        self,
        plan: Plan,
        inputs: Mapping[str, str],
        answer: BaseModel,
        served: Served[BaseModel],
        latency_ms: float,
    ) -> None:
        shadow = plan.decision.shadow
        if shadow is None or random.random() >= shadow.sample_rate:  # noqa: S311 - sampling
            return
        price = self.metering.prices.cost(served.model, served.response.usage)
        live = LiveAnswer(answer, latency_ms, to_nano_usd(price) if price is not None else None)
        self.shadow.submit(self.feature.name, self.shadow_jobs.job(shadow, inputs, live, plan.call))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _system_prompt(request: ModelRequest) -> str:
    return "\n".join(message.content for message in request.messages if message.role == "system")


def _input_chars(inputs: Mapping[str, str]) -> int:
    return sum(len(text) for text in inputs.values())
