"""Budgets per tenant and per feature, daily and monthly, checked before every model call.

A call first *reserves* its maximum cost (its input estimate plus the most output it may
produce) against every budget that applies; if any would go over its limit, the call is not made.
When the call ends the reservation is settled to what it really cost. Reservations are atomic in
the store (a Lua script in Redis; a single event loop in memory), so replicas sharing a Redis
cannot together overspend by more than one call's estimate. Free calls (the classical model)
never touch the store. When the store cannot be reached, a priced call is not made unchecked:
it is refused (503, retry shortly) or downgraded to a free model, as the policy says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal, Protocol

import structlog
from pydantic import BaseModel, ConfigDict, Field

from ..llm.errors import BudgetExhaustedError
from ..telemetry import semconv
from ..telemetry.metrics import ServiceMetrics
from .pricing import from_nano_usd, to_nano_usd

log = structlog.get_logger(__name__)

Scope = Literal["tenant", "feature"]
Period = Literal["day", "month"]
ExhaustedPolicy = Literal["reject", "downgrade"]
ALERT_THRESHOLDS = (0.5, 0.8, 1.0)
_WINDOW_FORMATS: tuple[tuple[Period, str], ...] = (("day", "%Y-%m-%d"), ("month", "%Y-%m"))


class SpendLimits(BaseModel):
    """Daily and monthly limits in USD; None means no limit for that period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_usd: Annotated[Decimal, Field(ge=0)] | None = None
    monthly_usd: Annotated[Decimal, Field(ge=0)] | None = None


@dataclass(frozen=True, slots=True)
class Budget:
    """One limit in force now: who it applies to, for which calendar window, and how much."""

    scope: Scope
    subject: str
    period: Period
    window: str
    limit_nano_usd: int

    @property
    def key(self) -> str:
        # One hash tag for every budget key, so a reservation's keys share a Redis Cluster slot.
        return f"{{budgets}}:{self.scope}:{self.subject}:{self.period}:{self.window}"

    @property
    def describe(self) -> str:
        """For people: "the daily tenant budget of acme"."""
        adjective = "daily" if self.period == "day" else "monthly"
        return f"the {adjective} {self.scope} budget of {self.subject}"

    @property
    def ttl_seconds(self) -> int:
        """Keep a window's total a little past its end, then let the store forget it."""
        return 2 * 86_400 if self.period == "day" else 32 * 86_400


class BudgetStore(Protocol):
    """Where budget totals live: process memory, or Redis shared by every replica."""

    async def reserve(self, budgets: Sequence[Budget], amount: int) -> Budget | None:
        """Add `amount` to every budget unless one would go over its limit; return that one."""
        ...

    async def adjust(self, budgets: Sequence[Budget], delta: int) -> list[int]:
        """Add `delta` (negative to give back) to every budget; return the new totals."""
        ...

    async def first_alert(self, budget: Budget, threshold: float) -> bool:
        """True the first time `threshold` is reported for `budget`'s window."""
        ...

    async def aclose(self) -> None: ...


class BudgetExceededError(Exception):
    """A budget is spent and the policy is to refuse: the request gets a 429 problem."""

    def __init__(self, budget: Budget, retry_after: int) -> None:
        super().__init__(f"{budget.describe} is spent")
        self.budget = budget
        self.retry_after = retry_after


class BudgetUnavailableError(Exception):
    """The budget store cannot be reached and the policy is to refuse: a 503 problem."""

    retry_after = 5


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money set aside for one call, to be settled when it ends."""

    budgets: tuple[Budget, ...]
    amount_nano_usd: int


NO_RESERVATION = Reservation((), 0)


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """The limits in force: per-tenant defaults and exceptions, and per-feature limits."""

    tenant_default: SpendLimits
    tenants: Mapping[str, SpendLimits]
    features: Mapping[str, SpendLimits]

    def describe(self) -> dict[str, object]:
        """The limits as plain JSON values, e.g. for the audit trail."""
        return {
            "tenant_default": self.tenant_default.model_dump(mode="json"),
            "tenants": {t: limits.model_dump(mode="json") for t, limits in self.tenants.items()},
            "features": {f: limits.model_dump(mode="json") for f, limits in self.features.items()},
        }

    def of(self, scope: Scope, subject: str) -> SpendLimits:
        if scope == "tenant":
            return self.tenants.get(subject, self.tenant_default)
        return self.features.get(subject, SpendLimits())


class BudgetGate:
    """Reserves before a call, settles after it, and raises the alerts."""

    def __init__(
        self,
        store: BudgetStore,
        limits: BudgetLimits,
        metrics: ServiceMetrics,
        exhausted: ExhaustedPolicy,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._limits = limits
        self._metrics = metrics
        self._exhausted = exhausted
        self._clock = clock
        self._settling: set[asyncio.Task[None]] = set()

    def budgets(self, tenant: str, feature: str) -> tuple[Budget, ...]:
        """Every budget that applies to a call for `tenant` and `feature` right now."""
        now = self._clock()
        found: list[Budget] = []
        subjects: tuple[tuple[Scope, str], ...] = (("tenant", tenant), ("feature", feature))
        for scope, subject in subjects:
            limits = self._limits.of(scope, subject)
            for period, window_format in _WINDOW_FORMATS:
                limit = limits.daily_usd if period == "day" else limits.monthly_usd
                if limit is not None:
                    window = now.strftime(window_format)
                    found.append(Budget(scope, subject, period, window, to_nano_usd(limit)))
        return tuple(found)

    async def reserve(self, tenant: str, feature: str, model: str, amount: int) -> Reservation:
        """Set aside `amount` nano-USD for a call, or refuse it as the policy says."""
        if amount <= 0:
            return NO_RESERVATION
        budgets = self.budgets(tenant, feature)
        if not budgets:
            return NO_RESERVATION
        try:
            exhausted = await self._store.reserve(budgets, amount)
        except Exception as exc:  # cannot check: the cautious side for cost is not to spend
            log.warning("budget_store_unavailable", error_type=type(exc).__name__, model=model)
            self._metrics.budget_rejections.add(1, _attributes(budgets[0]))
            if self._exhausted == "downgrade":
                raise BudgetExhaustedError(f"the budgets of {model} cannot be checked") from exc
            raise BudgetUnavailableError from exc
        if exhausted is None:
            return Reservation(budgets, amount)
        self._metrics.budget_rejections.add(1, _attributes(exhausted))
        log.warning(
            "budget_exhausted",
            scope=exhausted.scope,
            subject=exhausted.subject,
            period=exhausted.period,
            model=model,
            estimate_usd=str(from_nano_usd(amount)),
            policy=self._exhausted,
        )
        if self._exhausted == "downgrade":
            raise BudgetExhaustedError(f"{model} could overspend {exhausted.describe}")
        raise BudgetExceededError(exhausted, self._seconds_until_reset(exhausted))

    def settle(self, reservation: Reservation, actual: int | None) -> None:
        """Replace the reservation by the call's real cost; None (unknown) keeps it all."""
        if not reservation.budgets:
            return
        delta = 0 if actual is None else actual - reservation.amount_nano_usd
        task = asyncio.create_task(self._settle(reservation.budgets, delta))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def aclose(self) -> None:
        """Finish settling, then close the store."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        await self._store.aclose()

    async def _settle(self, budgets: tuple[Budget, ...], delta: int) -> None:
        try:
            totals = await self._store.adjust(budgets, delta)
            for budget, total in zip(budgets, totals, strict=True):
                await self._report(budget, total)
        except Exception as exc:  # settling must never break a request; the store heals
            log.warning("budget_settle_failed", error_type=type(exc).__name__)

    async def _report(self, budget: Budget, total: int) -> None:
        used = total / budget.limit_nano_usd if budget.limit_nano_usd else 1.0
        attributes = _attributes(budget)
        self._metrics.budget_utilization.set(used, attributes)
        for threshold in ALERT_THRESHOLDS:
            if used >= threshold and await self._store.first_alert(budget, threshold):
                self._metrics.budget_alerts.add(
                    1, {**attributes, semconv.APP_BUDGET_THRESHOLD: threshold}
                )
                (log.error if threshold >= 1.0 else log.warning)(
                    "budget_threshold_reached",
                    scope=budget.scope,
                    subject=budget.subject,
                    period=budget.period,
                    window=budget.window,
                    threshold_percent=round(threshold * 100),
                    spent_usd=str(from_nano_usd(total)),
                    limit_usd=str(from_nano_usd(budget.limit_nano_usd)),
                )

    def _seconds_until_reset(self, budget: Budget) -> int:
        now = self._clock()
        start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if budget.period == "day":
            reset = start_of_day + dt.timedelta(days=1)
        else:
            next_month = (start_of_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            reset = next_month
        return max(1, int((reset - now).total_seconds()))


def _attributes(budget: Budget) -> dict[str, str]:
    subject = semconv.APP_TENANT if budget.scope == "tenant" else semconv.APP_FEATURE
    return {
        semconv.APP_BUDGET_SCOPE: budget.scope,
        semconv.APP_BUDGET_PERIOD: budget.period,
        subject: budget.subject,
    }
