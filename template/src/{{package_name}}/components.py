"""The service's parts, built from settings: what `create_app` wires into routes and middleware.

Everything that needs configuration is built here, once, in dependency order, so `app.py` only
connects parts, and a test can build the same parts the service runs with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from . import SERVICE_ID
from .api.failed_auth import FailedAuthGuard
from .audit import SERVICE_ACTOR, AuditLog
from .cache import ResponseCache
from .configured_secrets import configured_secrets
from .costs.budget import BudgetGate, BudgetLimits, HoldTimes, SpendLimits
from .costs.pricing import PriceBook
from .database.writer import RowWriter
from .flags.features import FeatureFlags, check_feature_flags
from .flags.file_provider import ChangeListener, FlagFileProvider
from .guardrails.injection_policy import InjectionPolicy
from .guardrails.output import OutputGuard
from .llm.breaker import BreakerPolicy
from .llm.factory import build_model, build_models
from .llm.fallback import ChainPolicy, FallbackChain
from .llm.retry import RetryPolicy
from .llm.tenant_chains import TenantChains
from .metering import Metering
from .prompts import LabelMoves, PromptCatalog
from .rate_limits import TenantRateLimiter
from .redaction import Redactor
from .registry import Features, registered
from .serving.plan import Planner
from .serving.service import FeatureService
from .serving.shadow import ShadowJobs
from .settings import CLASSICAL_MODEL, ENV_PREFIX, Settings
from .shadow.runner import ShadowRunner
from .shared_state import SharedState
from .telemetry.metrics import ServiceMetrics
from .telemetry.setup import Telemetry
from .tenant_keys import tenant_provider_keys

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Components:
    """Every part of the service that has state or configuration."""

    telemetry: Telemetry
    metrics: ServiceMetrics
    redactor: Redactor
    chains: TenantChains
    shared: SharedState
    database: AsyncEngine
    writer: RowWriter
    audit: AuditLog
    budgets: BudgetGate
    rate_limiter: TenantRateLimiter
    failed_auth: FailedAuthGuard
    flags: FeatureFlags
    shadow: ShadowRunner
    features: Features
    services: Mapping[str, FeatureService]
    """Each registered feature's service, by feature name."""


def build_components(
    settings: Settings, telemetry: Telemetry, features: Features | None = None
) -> Components:
    """Build every part; a configuration error is raised here, before any traffic.

    `features` defaults to the registered ones (`features/__init__.py`)."""
    features = features or registered()
    metrics = ServiceMetrics(telemetry.meter)
    redactor = Redactor(configured_secrets(settings))
    database = create_async_engine(settings.database_url.get_secret_value())
    writer = RowWriter(database)
    audit = AuditLog(database)
    catalog = PromptCatalog(
        settings.prompts_dir,
        features.output_schemas,
        labels_file=settings.prompt_labels_file,
        on_labels_moved=_audit_label_moves(audit),
    )
    chains = TenantChains(
        shared=model_chain(settings, features),
        own={
            tenant: model_chain(settings, features, keys, keys_of=tenant)
            for tenant, keys in tenant_provider_keys(settings.tenant_overrides).items()
        },
    )
    shared = SharedState.connect(settings.redis_url, namespace=SERVICE_ID)
    budgets = BudgetGate(
        shared.budget_store(),
        budget_limits(settings),
        metrics,
        settings.budget_exhausted,
        HoldTimes.for_timeouts(settings.attempt_timeout_seconds, settings.request_timeout_seconds),
    )
    prices = PriceBook(settings.model_prices)
    for model in settings.all_models:
        if not prices.is_priced(model):
            log.warning("model_unpriced", model=model, fix="add it to MODEL_PRICES")
    metering = Metering(
        prices=prices,
        budgets=budgets,
        ledger=writer,
        metrics=metrics,
        spans=telemetry.spans,
        redactor=redactor,
        capture_content=settings.capture_message_content,
        tenant_keys={
            tenant: frozenset(override.provider_keys)
            for tenant, override in settings.tenant_overrides.items()
            if override.provider_keys
        },
    )
    limits_storage = shared.rate_limit_storage()
    rate_limiter = TenantRateLimiter(
        limits_storage,
        requests_per_minute=settings.rate_limit_requests_per_minute,
        tokens_per_minute=settings.rate_limit_tokens_per_minute,
        overrides=settings.tenant_overrides,
        metrics=metrics,
    )
    failed_auth = FailedAuthGuard(
        limits_storage,
        failures_per_minute=settings.auth_failures_per_minute,
        audits_per_minute=settings.auth_failure_audits_per_minute,
        audit=audit,
        metrics=metrics,
    )
    flags = FeatureFlags(
        FlagFileProvider(
            settings.flags_file,
            check=check_feature_flags,
            on_change=_audit_flag_changes(audit),
        ),
        settings.tenant_attributes,
    )
    shadow = ShadowRunner(settings.shadow_max_concurrency, settings.shadow_timeout_seconds)
    injection = injection_policy(settings, features, metrics)
    cache = ResponseCache(
        shared.cache_store(settings.cache_max_entries), settings.cache_ttl_seconds, metrics
    )
    output_guard = OutputGuard(
        forbidden=settings.forbidden_output,
        pii_policy=settings.output_pii_policy,
        redactor=redactor,
        metrics=metrics,
    )
    unknown = sorted(settings.review_thresholds.keys() - features.by_name.keys())
    if unknown:
        raise ValueError(
            f"{ENV_PREFIX}REVIEW_THRESHOLDS names unknown features {unknown}; "
            f"the features are {sorted(features.by_name)}"
        )
    services = {}
    for feature in features:
        services[feature.name] = FeatureService(
            feature=feature,
            planner=Planner(
                feature=feature,
                chains=chains,
                catalog=catalog,
                flags=flags,
                feature_off=settings.feature_off_response,
                injection=injection,
            ),
            chains=chains,
            review_threshold=settings.review_thresholds.get(feature.name, feature.review_threshold),
            metering=metering,
            rate_limiter=rate_limiter,
            cache=cache,
            writer=writer,
            shadow=shadow,
            shadow_jobs=ShadowJobs(feature, chains, catalog, metering, prices, writer),
            output_guard=output_guard,
        )
    return Components(
        telemetry=telemetry,
        metrics=metrics,
        redactor=redactor,
        chains=chains,
        shared=shared,
        database=database,
        writer=writer,
        audit=audit,
        budgets=budgets,
        rate_limiter=rate_limiter,
        failed_auth=failed_auth,
        flags=flags,
        shadow=shadow,
        features=features,
        services=services,
    )


def model_chain(
    settings: Settings,
    features: Features,
    api_keys: Mapping[str, SecretStr] | None = None,
    *,
    keys_of: str = "service",
) -> FallbackChain:
    """Every configured model, called with `api_keys` where given (a tenant's own), else with
    the service's keys; the classical model answers with each feature's rules."""
    return FallbackChain(
        build_models(settings.all_models, features.rules, api_keys),
        last_resort=build_model(CLASSICAL_MODEL, features.rules),
        policy=chain_policy(settings),
        keys_of=keys_of,
    )


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


def injection_policy(
    settings: Settings, features: Features, metrics: ServiceMetrics
) -> InjectionPolicy:
    """Each feature's action on prompt injection: its own default unless the setting names it;
    naming a feature that does not exist is an error, not a policy silently ignored."""
    unknown = sorted(settings.injection_policy.keys() - features.by_name.keys())
    if unknown:
        raise ValueError(
            f"{ENV_PREFIX}INJECTION_POLICY names unknown features {unknown}; "
            f"the features are {sorted(features.by_name)}"
        )
    actions = {feature.name: feature.injection for feature in features}
    return InjectionPolicy(
        settings.injection_threshold, metrics, actions | settings.injection_policy
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


def _audit_flag_changes(audit: AuditLog) -> ChangeListener:
    """Record each flag file change the service sees in the audit trail."""

    def changed(keys: Sequence[str], sha256: str) -> None:
        details = {"flags": list(keys), "sha256": sha256}
        audit.record_soon(SERVICE_ACTOR, "flags.changed", "flags file", details=details)

    return changed


def _audit_label_moves(audit: AuditLog) -> Callable[[LabelMoves], None]:
    """Record each label move the service sees (a promotion, or a hand edit) in the audit trail."""

    def moved(moves: LabelMoves) -> None:
        details = {label: {"from": old, "to": new} for label, (old, new) in moves.items()}
        audit.record_soon(SERVICE_ACTOR, "prompts.labels_moved", "prompt labels", details=details)

    return moved
