"""Budget totals in process memory (one replica) or in Redis (shared by every replica)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from .budget import Budget

if TYPE_CHECKING:
    from redis.asyncio import Redis


class MemoryBudgetStore:
    """Totals in a dict; atomic because one event loop runs every operation to completion."""

    def __init__(self) -> None:
        self._totals: dict[str, int] = {}
        self._expires: dict[str, float] = {}
        self._alerts: set[tuple[str, float]] = set()

    async def reserve(self, budgets: Sequence[Budget], amount: int) -> Budget | None:
        self._forget_expired()
        for budget in budgets:
            if self._totals.get(budget.key, 0) + amount > budget.limit_nano_usd:
                return budget
        await self.adjust(budgets, amount)
        return None

    async def adjust(self, budgets: Sequence[Budget], delta: int) -> list[int]:
        totals = []
        for budget in budgets:
            total = self._totals.get(budget.key, 0) + delta
            self._totals[budget.key] = total
            self._expires[budget.key] = time.monotonic() + budget.ttl_seconds
            totals.append(total)
        return totals

    async def first_alert(self, budget: Budget, threshold: float) -> bool:
        marker = (budget.key, threshold)
        if marker in self._alerts:
            return False
        self._alerts.add(marker)
        return True

    async def aclose(self) -> None:
        """Nothing to release."""

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for key in [key for key, expires in self._expires.items() if expires < now]:
            del self._totals[key], self._expires[key]
            self._alerts = {marker for marker in self._alerts if marker[0] != key}


_RESERVE = """
local amount = tonumber(ARGV[1])
local count = #KEYS
for i = 1, count do
  if tonumber(redis.call('GET', KEYS[i]) or '0') + amount > tonumber(ARGV[1 + i]) then
    return i
  end
end
for i = 1, count do
  redis.call('INCRBY', KEYS[i], amount)
  redis.call('EXPIRE', KEYS[i], ARGV[1 + count + i])
end
return 0
"""

_ADJUST = """
local totals = {}
for i = 1, #KEYS do
  totals[i] = redis.call('INCRBY', KEYS[i], ARGV[1])
  redis.call('EXPIRE', KEYS[i], ARGV[1 + i])
end
return totals
"""


class RedisBudgetStore:
    """Totals in Redis; each reservation is one Lua script, so replicas cannot race past a limit."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._reserve = redis.register_script(_RESERVE)
        self._adjust = redis.register_script(_ADJUST)

    def _key(self, budget: Budget) -> str:
        return f"{self._namespace}:{budget.key}"

    async def reserve(self, budgets: Sequence[Budget], amount: int) -> Budget | None:
        keys = [self._key(budget) for budget in budgets]
        limits = [budget.limit_nano_usd for budget in budgets]
        ttls = [budget.ttl_seconds for budget in budgets]
        index = int(cast(int, await self._reserve(keys=keys, args=[amount, *limits, *ttls])))
        return budgets[index - 1] if index else None

    async def adjust(self, budgets: Sequence[Budget], delta: int) -> list[int]:
        keys = [self._key(budget) for budget in budgets]
        ttls = [budget.ttl_seconds for budget in budgets]
        totals = cast(list[int], await self._adjust(keys=keys, args=[delta, *ttls]))
        return [int(total) for total in totals]

    async def first_alert(self, budget: Budget, threshold: float) -> bool:
        marker = f"{self._key(budget)}:alert:{threshold}"
        return bool(await self._redis.set(marker, 1, nx=True, ex=budget.ttl_seconds))

    async def aclose(self) -> None:
        """The Redis connection is shared and closed by its owner."""
