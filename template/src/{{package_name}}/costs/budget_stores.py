"""Budget totals in process memory (one replica) or in Redis (shared by every replica).

Each budget keeps what its window has *spent* and the *holds* of the calls in flight, each with
the time it was placed: the oldest says how long room has been held, and a hold long overdue
(its replica died) is given back the next time the budget is checked. Holds are judged by the
lifetime of the hold being placed: every replica of a service has the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from .budget import Budget, Hold, Refusal, RefusalKind, Totals

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass
class _Window:
    """One budget window in memory: what it spent, and each hold's amount and placing time, in
    the order placed (the clock only moves forward), so the oldest hold is the first."""

    spent: int = 0
    holds: dict[str, tuple[int, float]] = field(default_factory=dict)
    expires: float = 0.0

    def totals(self) -> Totals:
        return Totals(self.spent, sum(amount for amount, _ in self.holds.values()))

    def give_back_abandoned(self, now: float, abandon_after: float) -> None:
        while self.holds:
            oldest, (_, placed) = next(iter(self.holds.items()))
            if now - placed <= abandon_after:
                return
            del self.holds[oldest]

    def oldest_hold_age(self, now: float) -> float:
        _, placed = next(iter(self.holds.values()))
        return now - placed


class MemoryBudgetStore:
    """Totals in a dict; atomic because one event loop runs every operation to completion."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._alerts: set[tuple[str, float]] = set()

    async def reserve(self, budgets: Sequence[Budget], hold: Hold) -> Refusal | None:
        now = self._clock()
        self._forget_expired(now)
        windows = [self._window(budget, now) for budget in budgets]
        for window in windows:
            window.give_back_abandoned(now, hold.abandon_after)
        totals = [window.totals() for window in windows]
        for budget, budget_totals in zip(budgets, totals, strict=True):
            if budget_totals.spent >= budget.limit_nano_usd:
                return Refusal(budget, "spent", budget_totals)
        for budget, budget_totals, window in zip(budgets, totals, windows, strict=True):
            if budget_totals.spent + budget_totals.held >= budget.limit_nano_usd:
                return Refusal(budget, "held", budget_totals, window.oldest_hold_age(now))
        for window in windows:
            window.holds[hold.id] = (hold.amount, now)
        return None

    async def settle(self, budgets: Sequence[Budget], hold: Hold, cost: int) -> list[Totals]:
        now = self._clock()
        totals = []
        for budget in budgets:
            window = self._window(budget, now)
            window.holds.pop(hold.id, None)
            window.spent += cost
            totals.append(window.totals())
        return totals

    async def totals(self, budgets: Sequence[Budget]) -> list[Totals]:
        self._forget_expired(self._clock())
        empty = _Window()
        return [self._windows.get(budget.key, empty).totals() for budget in budgets]

    async def first_alert(self, budget: Budget, threshold: float) -> bool:
        marker = (budget.key, threshold)
        if marker in self._alerts:
            return False
        self._alerts.add(marker)
        return True

    async def aclose(self) -> None:
        """Nothing to release."""

    def _window(self, budget: Budget, now: float) -> _Window:
        window = self._windows.setdefault(budget.key, _Window())
        window.expires = now + budget.ttl_seconds
        return window

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, window in self._windows.items() if window.expires < now]:
            del self._windows[key]
            self._alerts = {marker for marker in self._alerts if marker[0] != key}


# KEYS: per budget, its spent total, its held total and its holds (id -> start, ms).
# ARGV: hold id, amount, abandon after (ms), then per budget its limit and ttl.
# Returns {0} when held, else {index, kind (1 spent, 2 held), spent, held, oldest hold's age (ms)}.
_RESERVE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local id, amount, abandon_after = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local count = #KEYS / 3
local spent, held = {}, {}
for i = 1, count do
  local held_key, holds_key = KEYS[3 * i - 1], KEYS[3 * i]
  local stale = redis.call('ZRANGEBYSCORE', holds_key, '-inf', now_ms - abandon_after)
  for _, member in ipairs(stale) do
    redis.call('DECRBY', held_key, tonumber(string.match(member, ':(%d+)$')))
  end
  if #stale > 0 then redis.call('ZREMRANGEBYSCORE', holds_key, '-inf', now_ms - abandon_after) end
  spent[i] = tonumber(redis.call('GET', KEYS[3 * i - 2]) or '0')
  held[i] = tonumber(redis.call('GET', held_key) or '0')
end
for i = 1, count do
  if spent[i] >= tonumber(ARGV[2 + 2 * i]) then return {i, 1, spent[i], held[i], 0} end
end
for i = 1, count do
  if spent[i] + held[i] >= tonumber(ARGV[2 + 2 * i]) then
    local oldest = redis.call('ZRANGE', KEYS[3 * i], 0, 0, 'WITHSCORES')
    return {i, 2, spent[i], held[i], now_ms - tonumber(oldest[2])}
  end
end
for i = 1, count do
  local ttl = ARGV[3 + 2 * i]
  redis.call('INCRBY', KEYS[3 * i - 1], amount)
  redis.call('ZADD', KEYS[3 * i], now_ms, id .. ':' .. amount)
  for k = 3 * i - 2, 3 * i do redis.call('EXPIRE', KEYS[k], ttl) end
end
return {0}
"""

# KEYS as for _RESERVE; ARGV: the hold's member (id:amount), its amount, the cost, then ttls.
# Returns per budget {spent, held} after settling.
_SETTLE = """
local totals = {}
local count = #KEYS / 3
for i = 1, count do
  if redis.call('ZREM', KEYS[3 * i], ARGV[1]) == 1 then
    redis.call('DECRBY', KEYS[3 * i - 1], ARGV[2])
  end
  local spent = redis.call('INCRBY', KEYS[3 * i - 2], ARGV[3])
  for k = 3 * i - 2, 3 * i do redis.call('EXPIRE', KEYS[k], ARGV[3 + i]) end
  totals[i] = {spent, tonumber(redis.call('GET', KEYS[3 * i - 1]) or '0')}
end
return totals
"""

_KINDS: dict[int, RefusalKind] = {1: "spent", 2: "held"}


class RedisBudgetStore:
    """Totals in Redis; each reservation is one Lua script, so replicas cannot race past a limit.

    A budget's spent total is at its key (as before holds were kept apart, so an update keeps
    the day's spend); its held total and its holds are beside it.
    """

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    def _keys(self, budgets: Sequence[Budget]) -> list[str]:
        keys = []
        for budget in budgets:
            spent = f"{self._namespace}:{budget.key}"
            keys += [spent, f"{spent}:held", f"{spent}:holds"]
        return keys

    async def reserve(self, budgets: Sequence[Budget], hold: Hold) -> Refusal | None:
        args: list[str | int] = [
            hold.id,
            hold.amount,
            round(hold.abandon_after * 1000),
        ]
        for budget in budgets:
            args += [budget.limit_nano_usd, budget.ttl_seconds]
        reply = cast(list[int], await self._reserve(keys=self._keys(budgets), args=args))
        if not reply[0]:
            return None
        index, kind, spent, held, age_ms = (int(value) for value in reply)
        return Refusal(budgets[index - 1], _KINDS[kind], Totals(spent, held), age_ms / 1000)

    async def settle(self, budgets: Sequence[Budget], hold: Hold, cost: int) -> list[Totals]:
        ttls = [budget.ttl_seconds for budget in budgets]
        args: list[str | int] = [f"{hold.id}:{hold.amount}", hold.amount, cost, *ttls]
        reply = cast(list[list[int]], await self._settle(keys=self._keys(budgets), args=args))
        return [Totals(int(spent), int(held)) for spent, held in reply]

    async def totals(self, budgets: Sequence[Budget]) -> list[Totals]:
        keys = self._keys(budgets)
        spent_and_held = [key for index, key in enumerate(keys) if index % 3 != 2]
        values = cast(list[bytes | None], await self._redis.mget(spent_and_held))
        return [
            Totals(int(values[2 * i] or 0), int(values[2 * i + 1] or 0))
            for i in range(len(budgets))
        ]

    async def first_alert(self, budget: Budget, threshold: float) -> bool:
        marker = f"{self._namespace}:{budget.key}:alert:{threshold}"
        return bool(await self._redis.set(marker, 1, nx=True, ex=budget.ttl_seconds))

    async def aclose(self) -> None:
        """The Redis connection is shared and closed by its owner."""
