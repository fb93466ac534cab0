"""Where budgets, rate-limit counters and cached answers live: this process, or Redis.

One replica keeps them in memory. Several replicas must share them, or each would grant its own
full budget and quota: set `REDIS_URL` and every replica uses the same Redis, under the
service's namespace. The Redis client is imported only when configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from pydantic import SecretStr

from .cache import CacheStore, MemoryCacheStore, RedisCacheStore
from .costs.budget import BudgetStore
from .costs.budget_stores import MemoryBudgetStore, RedisBudgetStore

if TYPE_CHECKING:
    from redis.asyncio import Redis


class SharedState:
    """Builds the stores for budgets, rate limits and the cache, in memory or in Redis."""

    def __init__(self, redis: Redis | None, url: str | None, namespace: str) -> None:
        self._redis = redis
        self._url = url
        self._namespace = namespace

    @classmethod
    def connect(cls, url: SecretStr | None, namespace: str) -> SharedState:
        """In-memory state when `url` is None, else a (lazily connecting) Redis client."""
        if url is None:
            return cls(None, None, namespace)
        from redis.asyncio import Redis

        plain = url.get_secret_value()
        return cls(Redis.from_url(plain), plain, namespace)

    def budget_store(self) -> BudgetStore:
        if self._redis is None:
            return MemoryBudgetStore()
        return RedisBudgetStore(self._redis, self._namespace)

    def rate_limit_storage(self) -> Storage:
        if self._redis is None or self._url is None:
            return MemoryStorage()
        # The limiter borrows this client's connection pool, so `aclose` closes its connections.
        return RedisStorage(
            f"async+{self._url}",
            implementation="redispy",
            key_prefix=f"{self._namespace}:limits",
            connection_pool=self._redis.connection_pool,  # type: ignore[arg-type]
        )

    def cache_store(self, max_entries: int) -> CacheStore:
        if self._redis is None:
            return MemoryCacheStore(max_entries)
        return RedisCacheStore(self._redis, self._namespace)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
