"""The OpenAPI document: the generated one, plus what FastAPI cannot see from the routes.

Authentication happens in `AdmissionMiddleware`, not in route dependencies, so this adds the
`bearerAuth` scheme and marks every `/v1` operation as needing it. A body not sent as JSON is
refused with 415 by the validation-error handler (`problems.py`), so this lists that problem
on every operation that takes a request body. A correction (feedback, reviews) is checked
against its answer's feature once the answer is found, so this describes it as one of the
features' correction shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from .admission import PROTECTED_PREFIX
from .problems import MEDIA_TYPE

SCHEME = "bearerAuth"
UNSUPPORTED_MEDIA_TYPE = {
    "description": HTTPStatus.UNSUPPORTED_MEDIA_TYPE.phrase,
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


CORRECTED = ("FeedbackRequest", "Feedback", "Decision", "ReviewItem")
"""The schemas whose `correction` is one of the features' correction shapes."""


def document_api(app: FastAPI, corrections: Sequence[type[BaseModel]]) -> None:
    """Make `app.openapi()` describe the `Authorization: Bearer <key>` requirement, the 415
    answer of every route that takes a body, and `corrections` as the shapes a correction
    takes."""

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
            _document_corrections(schema["components"].setdefault("schemas", {}), corrections)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_corrections(
    components: dict[str, Any], corrections: Sequence[type[BaseModel]]
) -> None:
    shapes = []
    for model in corrections:
        shape = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(shape.pop("$defs", {}))
        components[model.__name__] = shape
        shapes.append({"$ref": f"#/components/schemas/{model.__name__}"})
    for name in CORRECTED:
        properties = components.get(name, {}).get("properties", {})
        if "correction" not in properties:
            continue
        described = properties["correction"]
        optional = any(option.get("type") == "null" for option in described.get("anyOf", []))
        properties["correction"] = {
            "anyOf": shapes + ([{"type": "null"}] if optional else []),
            "description": described.get("description", "What the answer should have been."),
        }
