"""The application factory: wires settings, telemetry, accounting, models and routes together."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import FastAPI

from . import SERVICE_ID, SERVICE_NAME, SERVICE_VERSION
from .api import audit_trail, health, usage
from .api.admission import AdmissionMiddleware
from .api.auth import ApiKeyAuthenticator
from .api.body_limit import BodyLimitMiddleware
from .api.cross_origin import allow_cross_origin
from .api.health import ReadinessCheck
from .api.openapi import document_api
from .api.problems import PROBLEM_HANDLERS
from .api.request_context import RequestContextMiddleware
from .api.security_headers import SecurityHeadersMiddleware
from .audit import SERVICE_ACTOR
from .components import Components, budget_limits, build_components
from .database.migrate import SchemaNotReadyError, migrate, wait_for_schema
from .feedback import router as feedback_router
from .registry import Features
from .review import router as review_router
from .serving.routes import feature_router
from .settings import Settings
from .telemetry.observed import observe_runtime_state
from .telemetry.setup import Telemetry, configure_telemetry

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What the service starts before taking traffic and stops, in reverse, after it."""

    components: Components
    settings: Settings

    async def start(self) -> None:
        parts = self.components
        if self.settings.schema_at_start == "migrate":
            await migrate(parts.database)
        else:
            try:
                await wait_for_schema(parts.database, self.settings.schema_wait_seconds)
            except SchemaNotReadyError:
                await parts.database.dispose()  # the start fails: close what the wait opened
                raise
        parts.writer.start()
        limits = budget_limits(self.settings)
        await parts.audit.record_if_changed(
            SERVICE_ACTOR, "budget.limits", "budgets", limits.describe()
        )
        log.info("telemetry_configured", otlp_exports=sorted(parts.telemetry.exports))
        # What start-up built (modules, settings, catalogs, clients) lives as long as the
        # process: out of the collector's reach, a full collection walks only what requests
        # allocate, instead of pausing every request in flight for the whole heap.
        gc.freeze()

    async def stop(self) -> None:
        """Finish in-flight work: shadow runs end, every served call reaches the database."""
        parts = self.components
        await parts.shadow.aclose()
        await parts.chains.aclose()
        await parts.budgets.aclose()
        await parts.audit.aclose()
        await parts.writer.aclose()
        await parts.shared.aclose()
        parts.flags.shutdown()
        parts.telemetry.shutdown()
        gc.unfreeze()  # collectable again, for a process that goes on (a test building apps)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await app.state.runtime.start()
    app.state.accepting_traffic = True
    yield
    app.state.accepting_traffic = False
    await app.state.runtime.stop()


def create_app(
    settings: Settings | None = None,
    telemetry: Telemetry | None = None,
    features: Features | None = None,
) -> FastAPI:
    """Build the service; any configuration error is raised here, before it takes traffic.

    `features` defaults to the registered ones (`features/__init__.py`)."""
    settings = settings or Settings()
    parts = build_components(
        settings, telemetry or configure_telemetry(SERVICE_ID, SERVICE_VERSION), features
    )
    app = FastAPI(
        title=SERVICE_NAME,
        version=SERVICE_VERSION,
        lifespan=_lifespan,
        exception_handlers=dict(PROBLEM_HANDLERS),
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = Runtime(parts, settings)
    app.state.accepting_traffic = False
    app.state.readiness_checks = dict[str, ReadinessCheck]()
    app.state.request_timeout_seconds = settings.request_timeout_seconds
    app.state.models = parts.chains.shared
    app.state.database = parts.database
    app.state.audit = parts.audit
    app.state.writer = parts.writer
    app.state.features = dict(parts.services)
    # Added innermost first: a request meets SecurityHeaders, RequestContext, CORS (when
    # configured: a preflight is answered before admission asks for a key), Admission, BodyLimit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        AdmissionMiddleware,
        authenticator=ApiKeyAuthenticator(settings.api_keys),
        rate_limiter=parts.rate_limiter,
        failed_auth=parts.failed_auth,
    )
    allow_cross_origin(app, settings.cors_allow_origins)
    app.add_middleware(
        RequestContextMiddleware,
        spans=parts.telemetry.spans,
        metrics=parts.metrics,
        redactor=parts.redactor,
    )
    app.add_middleware(
        SecurityHeadersMiddleware, hsts_max_age_seconds=settings.hsts_max_age_seconds
    )
    app.include_router(health.router)
    for feature in parts.features:
        app.include_router(feature_router(feature))
    app.include_router(usage.router)
    app.include_router(feedback_router.router)
    app.include_router(review_router.router)
    app.include_router(audit_trail.router)
    document_api(app, [feature.correction for feature in parts.features])
    observe_runtime_state(parts.metrics, lambda: app.state.models, parts.writer)
    return app
