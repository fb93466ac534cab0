"""API-key authentication: `Authorization: Bearer <key>` identifies the calling tenant.

Keys are kept only as SHA-256 digests and every presented key is compared against all of them
with `hmac.compare_digest`, so response time does not reveal how much of a key was right. Keys
are never logged; `api.admission` binds the tenant id to the request's log context instead.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from ..settings import ApiKey


@dataclass(frozen=True, slots=True)
class Tenant:
    """The caller, as established by its API key."""

    id: str


class ApiKeyAuthenticator:
    """Resolve presented API keys to tenants."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._digests = tuple(
            (_digest(api_key.key.get_secret_value()), Tenant(api_key.tenant)) for api_key in keys
        )

    def authenticate(self, presented: str) -> Tenant | None:
        """Return the key's tenant, or None; the time taken does not depend on the key."""
        digest = _digest(presented)
        found: Tenant | None = None
        for candidate, tenant in self._digests:
            if hmac.compare_digest(digest, candidate):
                found = tenant
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
