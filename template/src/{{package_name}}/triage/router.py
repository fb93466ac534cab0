"""HTTP route of the triage feature."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ..api.auth import Tenant, require_tenant
from ..api.problems import PROBLEM_RESPONSES
from .schemas import TriageRequest, TriageResponse
from .service import TriageService

router = APIRouter(prefix="/v1", tags=["triage"])


def _service(request: Request) -> TriageService:
    service: TriageService = request.app.state.triage
    return service


@router.post("/triage", responses=PROBLEM_RESPONSES)
async def triage(
    ticket: TriageRequest,
    service: Annotated[TriageService, Depends(_service)],
    _tenant: Annotated[Tenant, Depends(require_tenant)],
) -> TriageResponse:
    """Classify a support ticket: category, priority, summary, and whether a human should look."""
    return await service.triage(ticket)
