"""The errors every layer raises, and the one JSON error shape they become:
{"error": {"code", "message", "details"}}.

At the root of the package (not in `web`) because the domain, the integrations, the CLI and infra
raise them too; only the Flask handlers that turn them into responses live in
`service/web/error_handlers.py`. No Flask here.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code
        if status:
            self.status = status


class ValidationFailed(ApiError):
    status = 422
    code = "validation_failed"


class InvalidInput(ApiError):
    status = 400
    code = "invalid_input"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class LengthRequired(ApiError):
    status = 411
    code = "length_required"


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}
