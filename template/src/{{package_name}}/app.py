"""The application factory: wires settings, prompts, the model and the routes together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import SERVICE_NAME
from .api import health
from .api.auth import ApiKeyAuthenticator
from .api.body_limit import BodyLimitMiddleware
from .api.health import ReadinessCheck
from .api.problems import PROBLEM_HANDLERS
from .api.request_context import RequestContextMiddleware
from .llm.breaker import BreakerPolicy
from .llm.classical import Rules
from .llm.factory import build_model, build_models
from .llm.fallback import ChainPolicy, FallbackChain
from .llm.retry import RetryPolicy
from .prompts import PromptRegistry
from .settings import CLASSICAL_MODEL, Settings
from .triage import router as triage_router
from .triage.rules import triage_rules
from .triage.schemas import TRIAGE_OUTPUT
from .triage.service import TriageService

CLASSICAL_RULES: Mapping[str, Rules] = {TRIAGE_OUTPUT.name: triage_rules}
"""Each feature's offline answer, served by the classical model."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.accepting_traffic = True
    yield
    app.state.accepting_traffic = False
    models: FallbackChain = app.state.models
    await models.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; any configuration error is raised here, before it takes traffic."""
    settings = settings or Settings()
    prompts = PromptRegistry.from_directory(settings.prompts_dir)
    models = FallbackChain(
        build_models(settings.all_models, CLASSICAL_RULES),
        last_resort=build_model(CLASSICAL_MODEL, CLASSICAL_RULES),
        policy=chain_policy(settings),
    )

    app = FastAPI(
        title=SERVICE_NAME,
        lifespan=_lifespan,
        exception_handlers=dict(PROBLEM_HANDLERS),
        docs_url=None,
        redoc_url=None,
    )
    app.state.accepting_traffic = False
    app.state.readiness_checks = dict[str, ReadinessCheck]()
    app.state.authenticator = ApiKeyAuthenticator(settings.api_keys)
    app.state.request_timeout_seconds = settings.request_timeout_seconds
    app.state.models = models
    app.state.triage = TriageService(
        models=models,
        prompt=prompts.get("triage", settings.triage_prompt_version),
        review_threshold=settings.triage_review_threshold,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(triage_router.router)
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
