"""Budgets per tenant and per feature, daily and monthly, checked before every model call.

A call first *holds* its maximum cost (its input estimate plus the most output it may produce)
against every budget that applies, and is let through while each budget has room left: what it
has spent plus what calls in flight hold is under its limit. When the call ends its hold is
released and what it really cost is added to what the budget has spent. So the budgets cannot
be overspent by more than one call's maximum cost, however many replicas share them.

*Spent* and *held* are kept apart: alerts, the utilisation gauge and usage follow what was
spent; holds are reported on their own. A refusal says which it was. A spent budget is refused
until its window resets; one whose remaining room is held by calls in flight is refused for a
few seconds: until the earliest of those calls is expected to settle, judged by how long calls
have been taking, and at most until it is due (the attempt timeout).

Holds and totals are atomic in the store (a Lua script in Redis; a single event loop in
memory). A hold whose replica died is given back once it is long overdue. Free calls (the
classical model) never touch the store. When the store cannot be reached, a priced call is not
made unchecked: it is refused (503, retry shortly) or downgraded to a free model, as the policy
says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import secrets
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
RefusalKind = Literal["spent", "held"]
"""Why a budget refused a call: its limit is spent, or its remaining room is held in flight."""
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


@dataclass(frozen=True, slots=True)
class Hold:
    """Money one call in flight sets aside: released when the call settles, or given back once
    `abandon_after` seconds have passed (its replica died before it could settle). Every hold of
    a service has the same lifetime; the store judges the holds in place by the new one's."""

    id: str
    amount: int
    abandon_after: float


@dataclass(frozen=True, slots=True)
class Totals:
    """A budget's state: what its window has spent, and what calls in flight hold."""

    spent: int
    held: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a store did not hold a call's money: the budget, its totals, and for a `held`
    refusal how many seconds its oldest hold has been in flight."""

    budget: Budget
    kind: RefusalKind
    totals: Totals
    oldest_hold_age: float = 0.0


class BudgetStore(Protocol):
    """Where budget totals live: process memory, or Redis shared by every replica."""

    async def reserve(self, budgets: Sequence[Budget], hold: Hold) -> Refusal | None:
        """Add `hold` to every budget if each has room left; else say which has none, and why.

        A budget has room while spent + held < limit. A spent budget is reported before one
        whose room is held, so a refusal is `held` only when waiting can help."""
        ...

    async def settle(self, budgets: Sequence[Budget], hold: Hold, cost: int) -> list[Totals]:
        """Release `hold` (if still there) and add `cost` to what every budget spent."""
        ...

    async def totals(self, budgets: Sequence[Budget]) -> list[Totals]:
        """What each budget has spent and holds now."""
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


class BudgetHeldError(Exception):
    """A budget's remaining room is held by calls in flight and the policy is to refuse: a 429
    problem that says to retry once the earliest of them is expected to settle."""

    def __init__(self, budget: Budget, retry_after: int) -> None:
        super().__init__(f"the rest of {budget.describe} is held by calls in flight")
        self.budget = budget
        self.retry_after = retry_after


class BudgetUnavailableError(Exception):
    """The budget store cannot be reached and the policy is to refuse: a 503 problem."""

    retry_after = 5


@dataclass(frozen=True, slots=True)
class Reservation:
    """Money held for one call, to be settled when it ends."""

    budgets: tuple[Budget, ...]
    hold: Hold | None
    placed_at: dt.datetime | None = None


NO_RESERVATION = Reservation((), None)


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


@dataclass(frozen=True, slots=True)
class HoldTimes:
    """How long a hold lasts: due to settle within the attempt timeout; abandoned (its replica
    presumed dead) only well after the longest a request may run."""

    settles_within: float
    abandon_after: float

    @classmethod
    def for_timeouts(cls, attempt_seconds: float, request_seconds: float) -> HoldTimes:
        return cls(attempt_seconds, max(attempt_seconds, request_seconds) + ABANDON_MARGIN_SECONDS)


ABANDON_MARGIN_SECONDS = 60.0
_HOLD_SECONDS_WEIGHT = 0.2
"""Weight of the latest settled hold in the moving average of how long holds last."""
_HOLD_PREFIX = secrets.token_hex(6)
"""Unique to this process, so that hold ids never collide between replicas."""


class BudgetGate:
    """Holds money before a call, settles it after, and raises the alerts."""

    def __init__(
        self,
        store: BudgetStore,
        limits: BudgetLimits,
        metrics: ServiceMetrics,
        exhausted: ExhaustedPolicy,
        hold_times: HoldTimes,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._limits = limits
        self._metrics = metrics
        self._exhausted = exhausted
        self._hold_times = hold_times
        self._clock = clock
        self._hold_ids = itertools.count()
        self._typical_hold_seconds: float | None = None
        """How long this replica's holds have lasted lately; None until one has settled."""
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
        """Hold `amount` nano-USD for a call, or refuse it as the policy says."""
        if amount <= 0:
            return NO_RESERVATION
        budgets = self.budgets(tenant, feature)
        if not budgets:
            return NO_RESERVATION
        hold = Hold(
            f"{_HOLD_PREFIX}-{next(self._hold_ids)}", amount, self._hold_times.abandon_after
        )
        try:
            refusal = await self._store.reserve(budgets, hold)
        except Exception as exc:  # cannot check: the cautious side for cost is not to spend
            log.warning("budget_store_unavailable", error_type=type(exc).__name__, model=model)
            self._metrics.budget_rejections.add(1, _attributes(budgets[0], "unavailable"))
            if self._exhausted == "downgrade":
                raise BudgetExhaustedError(f"the budgets of {model} cannot be checked") from exc
            raise BudgetUnavailableError from exc
        if refusal is None:
            return Reservation(budgets, hold, self._clock())
        raise self._refused(refusal, model, amount)

    def _refused(self, refusal: Refusal, model: str, amount: int) -> Exception:
        """Log and count a refusal; the error to raise for it under the policy."""
        budget = refusal.budget
        self._metrics.budget_rejections.add(1, _attributes(budget, refusal.kind))
        retry_after = (
            self._seconds_until_reset(budget)
            if refusal.kind == "spent"
            else self._seconds_until_settled(refusal.oldest_hold_age)
        )
        log.warning(
            "budget_exhausted" if refusal.kind == "spent" else "budget_held",
            scope=budget.scope,
            subject=budget.subject,
            period=budget.period,
            model=model,
            estimate_usd=str(from_nano_usd(amount)),
            spent_usd=str(from_nano_usd(refusal.totals.spent)),
            held_usd=str(from_nano_usd(refusal.totals.held)),
            limit_usd=str(from_nano_usd(budget.limit_nano_usd)),
            retry_after_s=retry_after,
            policy=self._exhausted,
        )
        if self._exhausted == "downgrade":
            reason = "is spent" if refusal.kind == "spent" else "is held by calls in flight"
            return BudgetExhaustedError(f"{model}: {budget.describe} {reason}")
        if refusal.kind == "spent":
            return BudgetExceededError(budget, retry_after)
        return BudgetHeldError(budget, retry_after)

    def settle(self, reservation: Reservation, actual: int | None) -> None:
        """Release the hold and count the call's real cost; None (unknown) counts it all."""
        hold = reservation.hold
        if hold is None:
            return
        if reservation.placed_at is not None:
            self._learn_hold_seconds((self._clock() - reservation.placed_at).total_seconds())
        cost = hold.amount if actual is None else actual
        task = asyncio.create_task(self._settle(reservation.budgets, hold, cost))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def aclose(self) -> None:
        """Finish settling, then close the store."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        await self._store.aclose()

    async def _settle(self, budgets: tuple[Budget, ...], hold: Hold, cost: int) -> None:
        try:
            totals = await self._store.settle(budgets, hold, cost)
            for budget, budget_totals in zip(budgets, totals, strict=True):
                await self._report(budget, budget_totals)
        except Exception as exc:  # settling must never break a request; the store heals
            log.warning("budget_settle_failed", error_type=type(exc).__name__)

    async def _report(self, budget: Budget, totals: Totals) -> None:
        used = totals.spent / budget.limit_nano_usd if budget.limit_nano_usd else 1.0
        attributes = _attributes(budget)
        self._metrics.budget_utilization.set(used, attributes)
        self._metrics.budget_held.set(float(from_nano_usd(totals.held)), attributes)
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
                    spent_usd=str(from_nano_usd(totals.spent)),
                    held_usd=str(from_nano_usd(totals.held)),
                    limit_usd=str(from_nano_usd(budget.limit_nano_usd)),
                )

    def _learn_hold_seconds(self, seconds: float) -> None:
        """A moving average of how long holds last, for the Retry-After of `held` refusals."""
        seconds = max(0.0, seconds)
        typical = self._typical_hold_seconds
        self._typical_hold_seconds = (
            seconds if typical is None else typical + _HOLD_SECONDS_WEIGHT * (seconds - typical)
        )

    def _seconds_until_settled(self, oldest_hold_age: float) -> int:
        """When the oldest hold is expected to settle: as long as holds have been lasting, never
        past when it is due (the attempt timeout), and at least a second."""
        due = self._hold_times.settles_within
        typical = due if self._typical_hold_seconds is None else self._typical_hold_seconds
        return max(1, math.ceil(min(typical, due) - oldest_hold_age))

    def _seconds_until_reset(self, budget: Budget) -> int:
        now = self._clock()
        start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if budget.period == "day":
            reset = start_of_day + dt.timedelta(days=1)
        else:
            next_month = (start_of_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            reset = next_month
        return max(1, int((reset - now).total_seconds()))


def _attributes(budget: Budget, reason: str | None = None) -> dict[str, str]:
    subject = semconv.APP_TENANT if budget.scope == "tenant" else semconv.APP_FEATURE
    attributes = {
        semconv.APP_BUDGET_SCOPE: budget.scope,
        semconv.APP_BUDGET_PERIOD: budget.period,
        subject: budget.subject,
    }
    if reason is not None:
        attributes[semconv.APP_BUDGET_REASON] = reason
    return attributes
