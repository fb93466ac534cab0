"""The OpenAPI document: the generated one, plus what FastAPI cannot see from the routes.

Authentication happens in `AdmissionMiddleware`, not in route dependencies, so this adds the
`bearerAuth` scheme and marks every `/v1` operation as needing it. A body not sent as JSON is
refused with 415 by the validation-error handler (`problems.py`), so this lists that problem
on every operation that takes a request body.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .admission import PROTECTED_PREFIX
from .problems import MEDIA_TYPE

SCHEME = "bearerAuth"
UNSUPPORTED_MEDIA_TYPE = {
    "description": HTTPStatus.UNSUPPORTED_MEDIA_TYPE.phrase,
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def document_api(app: FastAPI) -> None:
    """Make `app.openapi()` describe the `Authorization: Bearer <key>` requirement and the 415
    answer of every route that takes a body."""

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
                for operation in operations.values():
                    if path.startswith(PROTECTED_PREFIX):
                        operation["security"] = [{SCHEME: []}]
                    if "requestBody" in operation:
                        operation["responses"]["415"] = UNSUPPORTED_MEDIA_TYPE
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
