"""Liveness and readiness probes.

`/healthz` answers whenever the process can serve HTTP: restart the service if it does not.
`/readyz` answers 200 only while every dependency check passes and the service is not shutting
down: take the instance out of the load balancer while it does not. It also reports each
network model's circuit-breaker state (`closed`, `open`, `half_open`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..llm.breaker import BreakerState
from ..llm.fallback import FallbackChain

ReadinessCheck = Callable[[], Awaitable[bool]]
"""An async callable that says whether one dependency is usable."""

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, bool]
    models: dict[str, BreakerState]


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    responses={503: {"model": Readiness, "description": "A dependency is not usable"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Every dependency is usable and the service is not shutting down."""
    checks: Mapping[str, ReadinessCheck] = request.app.state.readiness_checks
    results = {name: await check() for name, check in checks.items()}
    results["accepting_traffic"] = bool(request.app.state.accepting_traffic)
    ready = all(results.values())
    # An open circuit does not make the instance unready: the fallback chain still answers.
    models: FallbackChain = request.app.state.models
    body = Readiness(
        status="ready" if ready else "not_ready", checks=results, models=models.breaker_states()
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
