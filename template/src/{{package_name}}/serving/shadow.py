"""A feature's shadow job: the candidate answers the same request, and the two are compared.

The candidate is the shadow plan's prompt label and/or model (each defaulting to what answered
live), asked alone, once: no fallback, no retry, so its own failures are what is measured. Its
call is metered as shadow traffic (a ledger row marked `shadow`, never charged to the tenant's
budgets) and the comparison (agreement on each of the feature's `compared` fields, latency and
cost of each) is one `shadow_comparisons` row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import structlog
from pydantic import BaseModel

from ..costs.pricing import PriceBook, to_nano_usd
from ..database.writer import RowWriter
from ..feature import Feature
from ..flags.features import ShadowPlan
from ..llm import structured
from ..llm.tenant_chains import TenantChains
from ..metering import CallContext, Metering
from ..prompts import PromptCatalog, PromptError
from ..shadow.rows import ShadowComparisonRow, ShadowOutcome
from ..shadow.runner import ShadowJob
from .answers import answered
from .requests import render

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LiveAnswer:
    """What the shadow is compared with."""

    answer: BaseModel
    latency_ms: float
    cost_nano_usd: int | None


@dataclass(frozen=True, slots=True)
class ShadowJobs:
    """Builds the shadow job for one sampled request of `feature`."""

    feature: Feature
    chains: TenantChains
    catalog: PromptCatalog
    metering: Metering
    prices: PriceBook
    writer: RowWriter

    def job(
        self, plan: ShadowPlan, inputs: Mapping[str, str], live: LiveAnswer, call: CallContext
    ) -> ShadowJob:
        async def run(seconds: float) -> None:
            await self._run(plan, inputs, live, call, seconds)

        return run

    async def _run(
        self,
        plan: ShadowPlan,
        inputs: Mapping[str, str],
        live: LiveAnswer,
        call: CallContext,
        seconds: float,
    ) -> None:
        answer = answered(live.answer)
        name, _, live_version = answer.prompt_version.partition("@")
        try:
            prompt = (
                self.catalog.get(name, plan.prompt_label)
                if plan.prompt_label
                else self.catalog.registry.get(name, int(live_version))
            )
        except PromptError as exc:
            log.warning("shadow_skipped", reason="unknown prompt label", error=str(exc))
            return
        model_name = plan.model or answer.model
        models = self.chains.for_tenant(call.tenant)
        if not models.knows(model_name):
            log.warning("shadow_skipped", reason="unknown model", model=model_name)
            return
        observer = self.metering.for_request(replace(call, prompt=prompt.ref, shadow=True))
        started = time.perf_counter()
        outcome: ShadowOutcome = "ok"
        result: BaseModel | None = None
        cost: int | None = None
        try:
            async with asyncio.timeout(seconds):
                generation = await structured.generate(
                    models.model(model_name),
                    render(self.feature, prompt, inputs),
                    self.feature.result,
                    observer,
                )
            result = generation.output
            price = self.prices.cost(model_name, generation.response.usage)
            cost = to_nano_usd(price) if price is not None else None
        except TimeoutError:
            outcome = "timeout"
        except Exception:  # the candidate's failure is a result to record, not an error here
            outcome = "error"
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        agreement = (
            self.feature.agreement(live.answer.model_dump(), result.model_dump())
            if result is not None
            else None
        )
        self.writer.record(
            ShadowComparisonRow(
                created_at=dt.datetime.now(dt.UTC),
                request_id=call.request_id or "",
                tenant=call.tenant,
                feature=call.feature,
                live_prompt=answer.prompt_version,
                live_model=answer.model,
                shadow_prompt=prompt.ref,
                shadow_model=model_name,
                outcome=outcome,
                agreement=agreement,
                live_latency_ms=live.latency_ms,
                shadow_latency_ms=latency_ms if outcome != "timeout" else None,
                live_cost_nano_usd=live.cost_nano_usd,
                shadow_cost_nano_usd=cost,
            )
        )
        log.info(
            "shadow_compared",
            shadow_prompt=prompt.ref,
            shadow_model=model_name,
            outcome=outcome,
            agreement=agreement,
        )
