"""API-key authentication: `Authorization: Bearer <key>` identifies the caller.

Keys are kept only as SHA-256 digests and every presented key is compared against all of them
with `hmac.compare_digest`, so response time does not reveal how much of a key was right. Keys
are never logged; a caller is known by its tenant and its key id (`tenant/` and a digest
prefix), which the audit trail records.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from ..settings import ApiKey, KeyScope


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as established by their API key: the tenant, which key, what it may do."""

    tenant: str
    key_id: str
    scopes: frozenset[KeyScope]


class ApiKeyAuthenticator:
    """Resolve presented API keys to callers."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._digests = tuple(
            (
                _digest(api_key.key.get_secret_value()),
                Caller(api_key.tenant, api_key.id, api_key.scopes),
            )
            for api_key in keys
        )

    def authenticate(self, presented: str) -> Caller | None:
        """Return the key's caller, or None; the time taken does not depend on the key."""
        digest = _digest(presented)
        found: Caller | None = None
        for candidate, caller in self._digests:
            if hmac.compare_digest(digest, candidate):
                found = caller
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
