"""CORS: closed unless `CORS_ALLOW_ORIGINS` names the browser origins that may call the API.

Without it no CORS header is ever sent, so browsers keep other sites' pages from reading any
answer. With it, only those exact origins may call, without credentials (API keys travel in
the `Authorization` header a page sets itself, never in cookies), and may read the headers a
client needs: the request id and the rate-limit state.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After", "RateLimit", "RateLimit-Policy")
PREFLIGHT_MAX_AGE_SECONDS = 600


def allow_cross_origin(app: FastAPI, origins: Sequence[str]) -> None:
    """Let `origins` call the API from a browser; with none, add nothing."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
