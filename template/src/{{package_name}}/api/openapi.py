"""The OpenAPI document: the generated one, plus the API-key scheme `/v1` routes require.

Authentication happens in `AdmissionMiddleware`, not in route dependencies, so FastAPI cannot
see it; this adds the `bearerAuth` scheme and marks every `/v1` operation as needing it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .admission import PROTECTED_PREFIX

SCHEME = "bearerAuth"


def document_api_keys(app: FastAPI) -> None:
    """Make `app.openapi()` describe the `Authorization: Bearer <key>` requirement."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key issued to your tenant.",
                }
            }
            for path, operations in schema["paths"].items():
                if path.startswith(PROTECTED_PREFIX):
                    for operation in operations.values():
                        operation["security"] = [{SCHEME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
