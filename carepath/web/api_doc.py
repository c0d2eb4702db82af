"""The OpenAPI document says what the API answers: its refusals, their shape, how to authenticate.

FastAPI documents a route's success and a 422 shaped as its own validation
error; carepath answers every refusal as an RFC 9457 problem document
(``carepath.web.problems``). Here the generated document is completed once:
the bearer scheme, and for each operation the refusals it can give — 401 and
403 (every operation needs a token of a permitted role), 404 where a path
names a record, 409 where a request can conflict with the record's state, 422
for bad input, 400 for a body that cannot be read and 413 for one too
large — each as
``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from carepath.web.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem document; `field` and `errors` name the input at fault.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

REFUSALS = {
    "400": "The body could not be read (not the content type the operation takes)",
    "413": "The body is larger than CAREPATH_MAX_BODY_BYTES",
    "401": "No valid bearer token",
    "403": "The token's role may not do this",
    "404": "No such record",
    "409": "Refused in the record's present state",
    "422": "The input is not valid (every bad field named)",
    "429": "Too many requests from this client this minute (see Retry-After)",
}


def _refusals(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    statuses = ["401", "403", "422", "429"]
    if "requestBody" in operation:
        statuses += ["400", "413"]
    if "{" in path:
        statuses.append("404")
    # Writes meet the record's state (a claimed task, a duplicate MRN, a transition the
    # phase does not allow); the evaluation refuses a patient the engine cannot read.
    if method != "get" or path.endswith("/evaluation"):
        statuses.append("409")
    return statuses


def complete(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A person's own token (Account → API tokens, or `carepath user token` "
            "with their password), or a service account's (`carepath user token`)",
        }
    }
    document["security"] = [{"bearer": []}]
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _refusals(path, method, operation):
                # A route's own word on a refusal (e.g. a signature's step-up) is kept.
                said = responses.get(status, {}).get("description")
                responses[status] = {"description": said or REFUSALS[status], "content": problem}
    return document


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    # FastAPI's documented way to extend the schema is to replace app.openapi on the instance.
    app.openapi = openapi  # type: ignore[method-assign]
