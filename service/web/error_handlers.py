"""Every error leaves as the one JSON shape of `service.errors`, 404/405 and crashes included."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import ApiError, error_body
from service.infra import transient

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5  # an infrastructure error (503): a restarted database is back within seconds


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
        if transient.is_infrastructure(exc):
            # The database, queue or disk failed: the request's transaction was rolled back, so
            # nothing of it is kept, and the same request later will succeed. Clients retry a
            # 503 with Retry-After; they never retry a 4xx (so a file is never blamed).
            log.warning("infrastructure error; answered 503", exc_info=True)
            response = jsonify(error_body("unavailable", "A service we depend on is unavailable;"
                                          " nothing was stored. Retry shortly."))
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        log.exception("unhandled error")
        return jsonify(error_body("internal_error", "Something went wrong on our side.")), 500
