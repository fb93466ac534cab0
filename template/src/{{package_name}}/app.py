"""The application factory: wires settings, telemetry, accounting, models and routes together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from opentelemetry.metrics import Observation
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from . import SERVICE_ID, SERVICE_NAME, SERVICE_VERSION
from .api import health, usage
from .api.admission import AdmissionMiddleware
from .api.auth import ApiKeyAuthenticator
from .api.body_limit import BodyLimitMiddleware
from .api.health import ReadinessCheck
from .api.openapi import document_api_keys
from .api.problems import PROBLEM_HANDLERS
from .api.request_context import RequestContextMiddleware
from .cache import ResponseCache
from .configured_secrets import configured_secrets
from .costs.budget import BudgetGate, BudgetLimits, SpendLimits
from .costs.pricing import PriceBook
from .ledger.migrate import migrate
from .ledger.writer import LedgerWriter
from .llm.breaker import BreakerPolicy
from .llm.classical import Rules
from .llm.factory import build_model, build_models
from .llm.fallback import ChainPolicy, FallbackChain
from .llm.retry import RetryPolicy
from .metering import Metering
from .prompts import PromptRegistry
from .rate_limits import TenantRateLimiter
from .redaction import Redactor
from .settings import CLASSICAL_MODEL, Settings
from .shared_state import SharedState
from .telemetry import semconv
from .telemetry.metrics import ServiceMetrics
from .telemetry.setup import Telemetry, configure_telemetry
from .triage import router as triage_router
from .triage.rules import triage_rules
from .triage.schemas import TRIAGE_OUTPUT
from .triage.service import TriageService

CLASSICAL_RULES: Mapping[str, Rules] = {TRIAGE_OUTPUT.name: triage_rules}
"""Each feature's offline answer, served by the classical model."""

BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What the service starts before taking traffic and stops, in reverse, after it."""

    telemetry: Telemetry
    ledger_engine: AsyncEngine
    ledger: LedgerWriter
    shared: SharedState
    budgets: BudgetGate
    models: FallbackChain

    async def start(self) -> None:
        await migrate(self.ledger_engine)
        self.ledger.start()
        log.info("telemetry_configured", otlp_exports=sorted(self.telemetry.exports))

    async def stop(self) -> None:
        """Finish in-flight bookkeeping: every served call reaches the ledger."""
        await self.models.aclose()
        await self.budgets.aclose()
        await self.ledger.aclose()
        await self.shared.aclose()
        self.telemetry.shutdown()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await app.state.runtime.start()
    app.state.accepting_traffic = True
    yield
    app.state.accepting_traffic = False
    await app.state.runtime.stop()


def create_app(settings: Settings | None = None, telemetry: Telemetry | None = None) -> FastAPI:
    """Build the service; any configuration error is raised here, before it takes traffic."""
    settings = settings or Settings()
    telemetry = telemetry or configure_telemetry(SERVICE_ID, SERVICE_VERSION)
    metrics = ServiceMetrics(telemetry.meter)
    prompts = PromptRegistry.from_directory(settings.prompts_dir)
    models = FallbackChain(
        build_models(settings.all_models, CLASSICAL_RULES),
        last_resort=build_model(CLASSICAL_MODEL, CLASSICAL_RULES),
        policy=chain_policy(settings),
    )
    shared = SharedState.connect(settings.redis_url, namespace=SERVICE_ID)
    ledger_engine = create_async_engine(settings.ledger_url.get_secret_value())
    ledger = LedgerWriter(ledger_engine)
    budgets = BudgetGate(
        shared.budget_store(), budget_limits(settings), metrics, settings.budget_exhausted
    )
    prices = PriceBook(settings.model_prices)
    for model in settings.all_models:
        if not prices.is_priced(model):
            log.warning("model_unpriced", model=model, fix="add it to MODEL_PRICES")
    redactor = Redactor(configured_secrets(settings))
    metering = Metering(
        prices=prices,
        budgets=budgets,
        ledger=ledger,
        metrics=metrics,
        spans=telemetry.spans,
        redactor=redactor,
        capture_content=settings.capture_message_content,
    )
    rate_limiter = TenantRateLimiter(
        shared.rate_limit_storage(),
        requests_per_minute=settings.rate_limit_requests_per_minute,
        tokens_per_minute=settings.rate_limit_tokens_per_minute,
        overrides=settings.tenant_overrides,
        metrics=metrics,
    )
    app = FastAPI(
        title=SERVICE_NAME,
        version=SERVICE_VERSION,
        lifespan=_lifespan,
        exception_handlers=dict(PROBLEM_HANDLERS),
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = Runtime(telemetry, ledger_engine, ledger, shared, budgets, models)
    app.state.accepting_traffic = False
    app.state.readiness_checks = dict[str, ReadinessCheck]()
    app.state.request_timeout_seconds = settings.request_timeout_seconds
    app.state.models = models
    app.state.ledger_engine = ledger_engine
    app.state.triage = TriageService(
        models=models,
        prompt=prompts.get("triage", settings.triage_prompt_version),
        review_threshold=settings.triage_review_threshold,
        metering=metering,
        rate_limiter=rate_limiter,
        cache=ResponseCache(
            shared.cache_store(settings.cache_max_entries), settings.cache_ttl_seconds, metrics
        ),
    )
    # Added innermost first: a request meets RequestContext, then Admission, then BodyLimit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        AdmissionMiddleware,
        authenticator=ApiKeyAuthenticator(settings.api_keys),
        rate_limiter=rate_limiter,
    )
    app.add_middleware(
        RequestContextMiddleware, spans=telemetry.spans, metrics=metrics, redactor=redactor
    )
    app.include_router(health.router)
    app.include_router(triage_router.router)
    app.include_router(usage.router)
    document_api_keys(app)
    _observe_state(metrics, lambda: app.state.models, ledger)
    return app


def chain_policy(settings: Settings) -> ChainPolicy:
    """The fallback chain's order, retries, breakers and context windows, from settings."""
    return ChainPolicy(
        primary=settings.model,
        fallbacks=settings.fallback_models,
        routing=settings.routing_rules,
        retry=RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            attempt_timeout_seconds=settings.attempt_timeout_seconds,
            base_delay_seconds=settings.retry_base_delay_seconds,
            max_delay_seconds=settings.retry_max_delay_seconds,
        ),
        breaker=BreakerPolicy(
            consecutive_failures=settings.breaker_consecutive_failures,
            failure_rate=settings.breaker_failure_rate,
            minimum_calls=settings.breaker_minimum_calls,
            window=settings.breaker_window,
            cooldown_seconds=settings.breaker_cooldown_seconds,
        ),
        context_windows=settings.context_windows,
    )


def budget_limits(settings: Settings) -> BudgetLimits:
    """Per-tenant budgets (defaults, then each tenant's overrides) and per-feature budgets."""
    default = SpendLimits(
        daily_usd=settings.tenant_daily_budget_usd,
        monthly_usd=settings.tenant_monthly_budget_usd,
    )
    tenants = {
        tenant: SpendLimits(
            daily_usd=override.daily_budget_usd
            if override.daily_budget_usd is not None
            else default.daily_usd,
            monthly_usd=override.monthly_budget_usd
            if override.monthly_budget_usd is not None
            else default.monthly_usd,
        )
        for tenant, override in settings.tenant_overrides.items()
    }
    return BudgetLimits(tenant_default=default, tenants=tenants, features=settings.feature_budgets)


def _observe_state(
    metrics: ServiceMetrics, models: Callable[[], FallbackChain], ledger: LedgerWriter
) -> None:
    """Gauges read when metrics are collected: breaker states and the ledger's backlog."""

    def breakers() -> Iterable[Observation]:
        for model, state in models().breaker_states().items():
            yield Observation(BREAKER_STATE_VALUES[state], {semconv.APP_MODEL: model})

    def backlog() -> Iterable[Observation]:
        yield Observation(ledger.pending)

    def write_errors() -> Iterable[Observation]:
        yield Observation(ledger.write_errors)

    def dropped() -> Iterable[Observation]:
        yield Observation(ledger.dropped)

    metrics.observe(
        semconv.APP_BREAKER_STATE_GAUGE,
        "Circuit state of each network model: 0 closed, 1 half-open, 2 open.",
        "{state}",
        breakers,
    )
    metrics.observe(
        semconv.APP_LEDGER_PENDING, "Ledger rows recorded but not yet written.", "{row}", backlog
    )
    metrics.observe(
        semconv.APP_LEDGER_WRITE_ERRORS,
        "Failed ledger inserts (their rows are kept and retried).",
        "{error}",
        write_errors,
        counter=True,
    )
    metrics.observe(
        semconv.APP_LEDGER_DROPPED_ROWS,
        "Ledger rows lost: dropped past the backlog limit, or unwritten at shutdown.",
        "{row}",
        dropped,
        counter=True,
    )
