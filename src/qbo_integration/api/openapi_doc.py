"""The app's OpenAPI document, completed with what FastAPI cannot see from the route signatures:

* redirects are bodiless (FastAPI gives every response a JSON body by default, which would tell
  clients and the fuzzer that a 302 carries JSON);
* every error answer a route can give (401/403/404 from the bearer and company checks, 413 from the
  body limit, 422 from validation, and each route's own 400/409/502/503), all in the one error format.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Error", "required": ["error"],
    "description": "Every error answer: a machine-readable code, a message for a person, and the request id",
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "requestId"],
        "properties": {
            "code": {"type": "string", "examples": ["invalid_input"]},
            "message": {"type": "string", "description": "What is wrong and what to do about it"},
            "details": {"description": "For invalid input: [{field, problem}, ...]"},
            "requestId": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }},
}

EVERY_ROUTE = {413: "The request body is larger than MAX_REQUEST_BODY_BYTES"}
WITH_INPUT = {422: "A parameter or the body is invalid: error.details names each field and its problem"}
SECURED = {401: "Missing, malformed, expired or otherwise invalid bearer token",
           403: "The token is for another company, or the route needs the admin role",
           404: "Unknown company, or an id that is not one of this company's"}

_CONFLICT = "The company is not in a state that allows this yet (the message says what to do first)"
_QBO_DOWN = "QuickBooks could not be reached: try again later"
_BAD_ZONE = "The company's time zone in CrewFlow is not an IANA zone (the message names it)"
# Route-specific answers (the domain errors each route's service can raise), by operation.
ROUTE_ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("get", "/callback"): {400: "Unknown, expired, used or foreign state; denied consent; bad code",
                           401: "A forwarded Authorization header is invalid",
                           409: "The QuickBooks company is connected to another CrewFlow company",
                           502: "The test call to QuickBooks failed", 503: _QBO_DOWN},
    ("delete", "/disconnect"): {400: "companyId missing, or different in the body and the query string",
                                409: "QuickBooks is not connected for this company"},
    ("get", "/audit-log"): {409: _BAD_ZONE},
    ("get", "/audit-log.csv"): {409: _BAD_ZONE},
    ("get", "/export-csv"): {409: _BAD_ZONE},
    ("post", "/directory/import"): {409: "QuickBooks is not connected for this company"},
    ("post", "/sync-now"): {409: "QuickBooks is not connected, or live sync is not enabled"},
    ("put", "/mapping"): {400: "The mapping names records that do not exist or do not fit", 409: _CONFLICT},
    ("post", "/mapping/profiles"): {409: "QuickBooks never connected, or a profile has that name"},
    ("post", "/mapping/profiles/{profile_id}/activate"): {409: _CONFLICT},
    ("post", "/test-mapping"): {409: _CONFLICT, 503: _QBO_DOWN},
    ("post", "/dry-run"): {409: _CONFLICT, 503: _QBO_DOWN},
    ("post", "/live-sync"): {409: "Enabling live sync needs a passed dry run of the current mapping"},
}
INTEGRATIONS_PREFIX = "/api/v1/integrations/quickbooks"


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        if str(status).startswith("3"):
            response.pop("content", None)
    wanted: dict[int, str] = dict(EVERY_ROUTE)
    if operation.get("parameters") or operation.get("requestBody"):
        wanted.update(WITH_INPUT)
    if operation.get("security"):
        wanted.update(SECURED)
    if path.startswith(INTEGRATIONS_PREFIX):
        wanted.update(ROUTE_ERRORS.get((method, path.removeprefix(INTEGRATIONS_PREFIX)), {}))
    for code, description in sorted(wanted.items()):
        existing = responses.get(str(code))
        if existing is None or code == 422:  # FastAPI's own 422 describes a body this API never sends
            responses[str(code)] = _error_response(description)
        else:  # declared by the route (its description kept): give it the error body
            existing.setdefault("content", {"application/json": {"schema": ERROR_REF}})


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            _complete(path, method, operation)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
