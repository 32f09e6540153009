"""Every error leaves as the one JSON shape of `service.errors`, 404/405 and crashes included."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import ApiError, error_body

log = logging.getLogger(__name__)


def _http_code(exc: HTTPException) -> str:
    name = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    return {"request_entity_too_large": "payload_too_large"}.get(name, name)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.code, exc.message, exc.details)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        response = jsonify(error_body(_http_code(exc), exc.description or exc.name))
        response.status_code = exc.code or 500
        for key, value in (exc.get_headers() or []):
            if key.lower() in {"allow", "retry-after", "www-authenticate"}:
                response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Logged with the traceback; the client never sees internals.
        log.exception("unhandled error")
        return jsonify(error_body("internal_error", "Something went wrong on our side.")), 500
