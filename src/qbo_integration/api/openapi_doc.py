"""The app's OpenAPI document, with redirects documented as bodiless (FastAPI gives every response a
JSON body by default, which would tell clients and the fuzzer that a 302 carries JSON)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def _drop_redirect_bodies(doc: dict[str, Any]) -> dict[str, Any]:
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if str(code).startswith("3"):
                    response.pop("content", None)
    return doc


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _drop_redirect_bodies(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
