"""Domain errors. Services raise these; the API turns them into the one JSON error format."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class InvalidInput(AppError):
    status_code = 400
    code = "invalid_input"


class Unprocessable(AppError):
    """A value of the right type that cannot be used (the same 422 as a schema validation error)."""

    status_code = 422
    code = "invalid_input"


class Unauthenticated(AppError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(AppError):
    status_code = 429
    code = "rate_limited"
