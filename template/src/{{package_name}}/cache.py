"""Exact-match response cache: the same tenant, prompt version, model, parameters and input
get the same answer again, without a model call.

The key is a SHA-256 of those parts, with the input normalised (Unicode NFKC, whitespace
collapsed, case kept) so copies of one ticket that differ only in spacing hit. Entries expire
after a TTL. In process memory by default (LRU-bounded), in Redis when replicas share answers.
A store that fails counts as a miss: the cache can make the service faster, never unavailable.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, Protocol

import structlog

from .telemetry import semconv
from .telemetry.metrics import ServiceMetrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)

CacheMode = Literal["use", "refresh", "bypass"]
"""`use`: read and write; `refresh` (`Cache-Control: no-cache`): skip the read, store the fresh
answer; `bypass` (`Cache-Control: no-store`): neither read nor write."""

_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The form two inputs must share to be the same request."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def cache_key(parts: Iterable[str]) -> str:
    """A digest of `parts` that no other sequence of parts produces."""
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


def cache_mode(cache_control: str | None) -> CacheMode:
    """Read a request's `Cache-Control` header."""
    directives = {d.strip().lower() for d in (cache_control or "").split(",")}
    if "no-store" in directives:
        return "bypass"
    if "no-cache" in directives:
        return "refresh"
    return "use"


class CacheStore(Protocol):
    """Where cached answers live."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...


class MemoryCacheStore:
    """An LRU dict with expiry times, bounded to `max_entries`."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


class RedisCacheStore:
    """Answers in Redis under `<namespace>:cache:<key>`, expiring with Redis' own TTL."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:cache:"

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(self._prefix + key, value, ex=ttl_seconds)


class ResponseCache:
    """Answers by key for `ttl_seconds`; a TTL of 0 turns caching off."""

    def __init__(self, store: CacheStore, ttl_seconds: int, metrics: ServiceMetrics) -> None:
        self._store = store
        self._ttl_seconds = ttl_seconds
        self._metrics = metrics

    async def lookup(self, key: str, mode: CacheMode, feature: str) -> bytes | None:
        """The cached answer, or None on a miss, a bypass or a failing store."""
        if not self._ttl_seconds:
            return None
        value = None
        if mode == "use":
            try:
                value = await self._store.get(key)
            except Exception as exc:
                log.warning("cache_unavailable", error_type=type(exc).__name__)
        result = "bypass" if mode != "use" else "hit" if value is not None else "miss"
        self._metrics.cache_lookups.add(
            1, {semconv.APP_FEATURE: feature, semconv.APP_CACHE_RESULT: result}
        )
        return value

    async def save(self, key: str, value: bytes, mode: CacheMode) -> None:
        """Keep `value` for the TTL, unless the caller asked not to store answers."""
        if not self._ttl_seconds or mode == "bypass":
            return
        try:
            await self._store.set(key, value, self._ttl_seconds)
        except Exception as exc:
            log.warning("cache_unavailable", error_type=type(exc).__name__)
