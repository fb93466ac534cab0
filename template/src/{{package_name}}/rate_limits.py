"""Per-tenant rate limits: requests and model tokens per minute, counted with `limits`.

Sliding-window counters, kept in process memory or in Redis (where `limits` updates them with
atomic scripts), so with Redis every replica counts against the same quota. A refused caller is
told when to come back; every answer carries the quota's state in the `RateLimit-Policy` and
`RateLimit` headers of the IETF httpapi draft. If the counter store is unreachable the request
is let through and the failure logged: an outage of Redis must not become an outage of the API.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import structlog
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from .telemetry import semconv
from .telemetry.metrics import ServiceMetrics
from .tenants import TenantOverrides

log = structlog.get_logger(__name__)

QuotaName = Literal["requests", "tokens"]
WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class QuotaState:
    """Where one tenant stands against one quota after a request was counted (or refused)."""

    name: QuotaName
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.name}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.name}";r={self.remaining};t={self.reset_seconds}',
        }


class RateLimitedError(Exception):
    """A tenant is over a quota: the request gets a 429 problem with `Retry-After`."""

    def __init__(self, state: QuotaState, detail: str) -> None:
        super().__init__(detail)
        self.state = state
        self.detail = detail


class ExceedsQuotaError(RateLimitedError):
    """One request needs more than the whole quota: waiting cannot help (a 413 problem)."""


class TenantRateLimiter:
    """Counts each tenant's requests and estimated model tokens against per-minute quotas."""

    def __init__(
        self,
        storage: Storage,
        *,
        requests_per_minute: int,
        tokens_per_minute: int,
        overrides: Mapping[str, TenantOverrides],
        metrics: ServiceMetrics,
    ) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._metrics = metrics
        self._defaults: dict[QuotaName, int] = {
            "requests": requests_per_minute,
            "tokens": tokens_per_minute,
        }
        self._overrides = overrides
        self._items: dict[int, RateLimitItem] = {}

    async def admit_request(self, tenant: str) -> QuotaState | None:
        """Count one request; raise `RateLimitedError` when the tenant is over its quota."""
        return await self._admit("requests", tenant, 1)

    async def admit_tokens(self, tenant: str, tokens: int) -> None:
        """Count a model call's estimated tokens; raise `RateLimitedError` when over quota."""
        await self._admit("tokens", tenant, tokens, report=False)

    async def _admit(
        self, quota: QuotaName, tenant: str, cost: int, *, report: bool = True
    ) -> QuotaState | None:
        """The quota's state after counting `cost` (when `report`, or refused), or None."""
        limit = self._limit(quota, tenant)
        item = self._items.get(limit) or self._items.setdefault(
            limit, RateLimitItemPerMinute(limit)
        )
        try:
            allowed = cost <= limit and await self._limiter.hit(item, quota, tenant, cost=cost)
            if allowed and not report:
                return None
            stats = await self._limiter.get_window_stats(item, quota, tenant)
        except Exception as exc:
            log.warning("rate_limit_store_unavailable", error_type=type(exc).__name__)
            return None
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        state = QuotaState(quota, limit, stats.remaining, min(reset, WINDOW_SECONDS))
        if allowed:
            return state
        self._metrics.rate_limited.add(
            1, {semconv.APP_RATE_LIMIT: quota, semconv.APP_TENANT: tenant}
        )
        if cost > limit:
            raise ExceedsQuotaError(
                state, f"This request needs about {cost} {quota}; your limit is {limit} a minute."
            )
        raise RateLimitedError(
            state, f"Your limit of {limit} {quota} a minute is used up; retry later."
        )

    def _limit(self, quota: QuotaName, tenant: str) -> int:
        override = self._overrides.get(tenant)
        if override is not None:
            value = (
                override.requests_per_minute if quota == "requests" else override.tokens_per_minute
            )
            if value is not None:
                return value
        return self._defaults[quota]
