"""API-key authentication: `Authorization: Bearer <key>` identifies the calling tenant.

Keys are kept only as SHA-256 digests and every presented key is compared against all of them
with `hmac.compare_digest`, so response time does not reveal how much of a key was right. Keys
are never logged; the tenant id is bound to the request's log context instead.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from fastapi import HTTPException, Request

from ..settings import ApiKey

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}
_INVALID = {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}


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


async def require_tenant(request: Request) -> Tenant:
    """FastAPI dependency: the authenticated tenant, or a 401 problem."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Send an API key as 'Authorization: Bearer <key>'.", _CHALLENGE)
    authenticator: ApiKeyAuthenticator = request.app.state.authenticator
    tenant = authenticator.authenticate(token.strip())
    if tenant is None:
        raise HTTPException(401, "The API key is not valid.", _INVALID)
    request.state.tenant = tenant.id
    structlog.contextvars.bind_contextvars(tenant=tenant.id)
    return tenant
