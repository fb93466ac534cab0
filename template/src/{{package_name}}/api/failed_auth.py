"""Failed authentications: logged, audited within a bound, counted, and limited per address.

Each request refused for a missing or invalid key counts against its client address. An address
over `AUTH_FAILURES_PER_MINUTE` gets 429 problems, whatever key it sends, until its window
frees up: the limit is checked before the key, so a 429 says nothing about a guess. Each failure
is logged (`auth_failed`), and the first `AUTH_FAILURE_AUDITS_PER_MINUTE` of an address's minute
become `auth.failed` audit entries; the rest are only counted in `app.auth.failures`, so a flood
of bad keys cannot fill the database. Neither records the key: a presented key long enough to be
one is known only by its fingerprint, the same 8 hex digits of SHA-256 a key id carries, so a
retired key still in use shows up under its old id.

Counters live in the same store as the tenants' quotas (memory, or Redis shared by replicas).
Only addresses that failed on this replica within the window are checked there, so clients
that authenticate cost no extra round trip; another replica's failures are seen after this
replica's first one. If the store is unreachable, failures are not limited nor audited (only
logged and counted), as for the quotas.

The client address is the connection's peer: behind a reverse proxy, let uvicorn take it from
`X-Forwarded-For` (`FORWARDED_ALLOW_IPS` set to the proxy's address), or every client shares
the proxy's address and its failure limit.
"""

from __future__ import annotations

import math
import time
from typing import Literal

import structlog
from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from ..audit import AuditLog
from ..settings import MIN_API_KEY_LENGTH, key_fingerprint
from ..telemetry import semconv
from ..telemetry.metrics import ServiceMetrics

FailureReason = Literal["missing_key", "invalid_key"]
AUDIT_ACTION = "auth.failed"
AUDIT_SUBJECT = "api key"
WINDOW_SECONDS = 60
MAX_SUSPECTS = 10_000
"""Addresses with a recent failure remembered by one replica; the oldest are forgotten first."""

log = structlog.get_logger(__name__)


class FailedAuthGuard:
    """Count, audit and limit failed authentications by client address."""

    def __init__(
        self,
        storage: Storage,
        *,
        failures_per_minute: int,
        audits_per_minute: int,
        audit: AuditLog,
        metrics: ServiceMetrics,
    ) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._failures = RateLimitItemPerMinute(failures_per_minute)
        self._audits = RateLimitItemPerMinute(audits_per_minute) if audits_per_minute else None
        self._audit = audit
        self._metrics = metrics
        self._suspects: dict[str, float] = {}

    async def retry_after(self, client: str) -> int | None:
        """Seconds `client` must wait when it failed too often this minute, otherwise None."""
        if not self._is_suspect(client):
            return None
        try:
            if await self._limiter.test(self._failures, "auth_failures", client):
                return None
            stats = await self._limiter.get_window_stats(self._failures, "auth_failures", client)
        except Exception as exc:
            log.warning("auth_limit_store_unavailable", error_type=type(exc).__name__)
            return None
        self._count("throttled", audited=False)
        return min(max(1, math.ceil(stats.reset_time - time.time())), WINDOW_SECONDS)

    async def failed(self, client: str, reason: FailureReason, presented: str) -> None:
        """Record one failure of `client`, which presented `presented` (empty when no key)."""
        self._suspects.pop(client, None)
        self._suspects[client] = time.monotonic()
        if len(self._suspects) > MAX_SUSPECTS:
            del self._suspects[next(iter(self._suspects))]
        audited = False
        try:
            await self._limiter.hit(self._failures, "auth_failures", client)
            if self._audits is not None:
                audited = await self._limiter.hit(self._audits, "auth_failure_audits", client)
        except Exception as exc:
            log.warning("auth_limit_store_unavailable", error_type=type(exc).__name__)
        details: dict[str, str] = {"reason": reason}
        if len(presented) >= MIN_API_KEY_LENGTH:
            details["key_fingerprint"] = key_fingerprint(presented)
        log.warning("auth_failed", client=client, audited=audited, **details)
        if audited:
            self._audit.record_soon(client, AUDIT_ACTION, AUDIT_SUBJECT, details=details)
        self._count(reason, audited=audited)

    def _is_suspect(self, client: str) -> bool:
        failed_at = self._suspects.get(client)
        if failed_at is None:
            return False
        if time.monotonic() - failed_at > WINDOW_SECONDS:
            del self._suspects[client]
            return False
        return True

    def _count(self, outcome: str, *, audited: bool) -> None:
        self._metrics.auth_failures.add(
            1, {semconv.APP_AUTH_FAILURE: outcome, semconv.APP_AUDITED: audited}
        )
