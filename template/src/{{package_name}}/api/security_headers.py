"""Security headers on every response, errors and refusals included.

The service answers JSON and server-sent events, never HTML, so the strictest policy fits:
nothing may be loaded, framed or sniffed, no referrer leaves with a link. (Interactive OpenAPI
pages are off; `/openapi.json` is plain JSON and needs nothing more. A team that turns `/docs`
on must relax the content security policy for that one path.) `/v1` answers are per-tenant, so
no cache may keep them. `Strict-Transport-Security` is sent only when the `HSTS_MAX_AGE_SECONDS`
setting says clients reach the service over HTTPS alone: sent over plain HTTP it would be wrong.

The outermost middleware, so even a crash's 500 problem carries the headers.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admission import PROTECTED_PREFIX

ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Add the security headers; `hsts_max_age_seconds` 0 sends no `Strict-Transport-Security`."""

    def __init__(self, app: ASGIApp, hsts_max_age_seconds: int) -> None:
        self.app = app
        self.headers = ALWAYS
        if hsts_max_age_seconds > 0:
            hsts = f"max-age={hsts_max_age_seconds}; includeSubDomains".encode()
            self.headers = (*ALWAYS, (b"strict-transport-security", hsts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers
        if scope["path"].startswith(PROTECTED_PREFIX):
            extra = (*extra, NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in extra}
                kept = [(n, v) for n, v in message.get("headers", ()) if n.lower() not in names]
                message["headers"] = [*kept, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
