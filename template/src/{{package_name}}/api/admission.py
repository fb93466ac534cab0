"""Admission of `/v1` requests: who is calling, and whether their request quota lets them in.

A plain ASGI middleware rather than a FastAPI dependency: it runs on every API request, and
each dependency FastAPI resolves costs more than this whole check. An unknown key gets a 401
problem with a `WWW-Authenticate` challenge; a tenant over its quota gets a 429 problem with
`Retry-After`. Failed authentications are recorded and limited per client address by
`FailedAuthGuard`, asked before the key is checked. Admitted requests carry their `Caller` in
`request.state.caller` and their quota's `RateLimit-Policy` and `RateLimit` headers on the
response. What a route requires of the caller's scopes, the route checks with `require_scope`.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from fastapi import HTTPException
from opentelemetry import trace
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..rate_limits import RateLimitedError, TenantRateLimiter
from ..settings import KeyScope
from ..telemetry import semconv
from .auth import ApiKeyAuthenticator, Caller
from .failed_auth import FailedAuthGuard
from .problems import LimitKind, problem_response
from .request_context import RESPONSE_HEADERS

PROTECTED_PREFIX = "/v1/"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}
_INVALID = {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}


class AdmissionMiddleware:
    """Authenticate `/v1` requests by API key and count them against their tenant's quota."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: ApiKeyAuthenticator,
        rate_limiter: TenantRateLimiter,
        failed_auth: FailedAuthGuard,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.rate_limiter = rate_limiter
        self.failed_auth = failed_auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = await self.failed_auth.retry_after(client)
        if wait is not None:
            detail = "Too many failed authentications from your address; retry later."
            headers = {"Retry-After": str(wait)}
            await _refuse(scope, receive, send, 429, detail, headers, limit="auth_failures")
            return
        scheme, _, token = _header(scope, b"authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self.failed_auth.failed(client, "missing_key", "")
            detail = "Send an API key as 'Authorization: Bearer <key>'."
            await _refuse(scope, receive, send, 401, detail, _CHALLENGE)
            return
        caller = self.authenticator.authenticate(token.strip())
        if caller is None:
            await self.failed_auth.failed(client, "invalid_key", token.strip())
            await _refuse(scope, receive, send, 401, "The API key is not valid.", _INVALID)
            return
        scope.setdefault("state", {})["caller"] = caller
        structlog.contextvars.bind_contextvars(tenant=caller.tenant)
        trace.get_current_span().set_attribute(semconv.APP_TENANT, caller.tenant)
        try:
            quota = await self.rate_limiter.admit_request(caller.tenant)
        except RateLimitedError as exc:
            headers = {"Retry-After": str(exc.state.reset_seconds), **exc.state.headers()}
            await _refuse(scope, receive, send, 429, exc.detail, headers, limit=exc.state.name)
            return
        if quota is not None:
            extra = scope["state"].setdefault(RESPONSE_HEADERS, [])
            extra.extend((name.encode(), value.encode()) for name, value in quota.headers().items())
        await self.app(scope, receive, send)


def caller_of(request: Request) -> Caller:
    """The caller `AdmissionMiddleware` admitted this request for."""
    caller: Caller = request.state.caller
    return caller


def tenant_of(request: Request) -> str:
    """The tenant `AdmissionMiddleware` admitted this request for."""
    return caller_of(request).tenant


def require_scope(request: Request, scope: KeyScope) -> Caller:
    """The caller, if their key has `scope`; otherwise a 403 problem."""
    caller = caller_of(request)
    if scope not in caller.scopes:
        raise HTTPException(403, f"This API key does not have the {scope!r} scope.")
    return caller


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    headers: Mapping[str, str],
    *,
    limit: LimitKind | None = None,
) -> None:
    response = problem_response(
        status,
        request_id=scope.get("state", {}).get("request_id"),
        instance=scope["path"],
        detail=detail,
        headers=headers,
        limit=limit,
    )
    await response(scope, receive, send)
