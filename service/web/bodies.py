"""Request bodies: never a silently truncated body.

Werkzeug gives a chunked request (no Content-Length) only the first MAX_CONTENT_LENGTH bytes and
raises 413 on a *further* read, so a view calling get_data() would see a truncated body and answer 200.
We read chunked bodies here, up front, and probe one byte past the limit. A server that does not mark
chunked input as terminated would hand us an empty body instead, so there we ask for a length (411).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError

from service.errors import InvalidInput, LengthRequired, PayloadTooLarge, ValidationFailed

_WITH_BODY = {"POST", "PUT", "PATCH"}
# Routes that take small bodies from anyone (unauthenticated until the body is checked) get a
# small cap, applied BEFORE anything is read: a declared Content-Length above it is refused at
# once, and a chunked body is read to at most cap + 1 byte. Keyed by endpoint (the URL rule).
SMALL_FORM_BYTES = 16 * 1024
GARMIN_NOTIFICATION_BYTES = 10 * 1024 * 1024  # apis.md §9: production keys accept ≥ 10 MB
ROUTE_LIMITS: dict[str, int | str] = {
    "strava.receive": "max_webhook_bytes",  # the Settings field (64 KiB by default)
    "garmin.activities_receiver": GARMIN_NOTIFICATION_BYTES,
    "garmin.activity_files_receiver": GARMIN_NOTIFICATION_BYTES,
    "garmin.deregistrations_receiver": GARMIN_NOTIFICATION_BYTES,
    "garmin.permissions_receiver": GARMIN_NOTIFICATION_BYTES,
    "web.login": SMALL_FORM_BYTES,
    "web.logout": SMALL_FORM_BYTES,
    "web.join": SMALL_FORM_BYTES,
    "preferences.unsubscribe": SMALL_FORM_BYTES,
}


# No API body nests deeper than a handful of levels; 100,000 levels would raise RecursionError.
MAX_JSON_DEPTH = 32


class DepthLimitedJSON(DefaultJSONProvider):
    """request.get_json() for every route: a body nested deeper than MAX_JSON_DEPTH is a 400."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            value = None
            too_deep = True
        else:
            too_deep = json_depth(value) > MAX_JSON_DEPTH
        if too_deep:
            raise InvalidInput(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.",
                               code="json_too_deep")
        return value


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (a scalar is 0, [] or {} is 1)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def init_app(app: Flask) -> None:
    app.json = DepthLimitedJSON(app)

    @app.before_request
    def _guard_body() -> None:
        if request.method not in _WITH_BODY:
            return
        _apply_route_limit(app)
        limit = request.max_content_length
        if request.content_length is not None:
            # Refuse a declared oversize body before anyone reads it (or routes it).
            if limit is not None and request.content_length > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            return
        if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
            return
        if not request.environ.get("wsgi.input_terminated"):
            raise LengthRequired("Send a Content-Length header with the request body.")
        if request.url_rule is None:
            return  # a 404/405 is answered without reading the body
        request.get_data(cache=True, parse_form_data=False)
        if limit is not None and request.stream.read(1):
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")


def _apply_route_limit(app: Flask) -> None:
    limit = ROUTE_LIMITS.get(request.endpoint or "")
    if isinstance(limit, str):
        limit = getattr(app.extensions["kneeguard"].settings, limit)
    if limit is not None and limit < (request.max_content_length or limit + 1):
        request.max_content_length = limit  # Flask ≥ 3.1: per request, form parsing included


def strict_json(model: type[BaseModel]) -> BaseModel:
    """A JSON API body as `model`, strictly: UTF-8 only (RFC 8259 §8.1; json.loads would also
    guess UTF-16 and UTF-32), no coercion ("yes" or 1 is not a boolean, "5" is not a number),
    unknown keys refused (the models forbid extras). No body means no fields."""
    raw = request.get_data(cache=True, parse_form_data=False)
    if not raw:
        return _validated(model, "{}")
    charset = (request.mimetype_params.get("charset") or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise InvalidInput("JSON bodies must be UTF-8.", code="invalid_json",
                           details={"charset": charset[:40]})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("JSON bodies must be UTF-8.", code="invalid_json") from None
    if text.startswith("\ufeff"):
        raise InvalidInput("JSON bodies must not start with a byte order mark.",
                           code="invalid_json")
    try:
        body = current_app.json.loads(text)  # the depth guard above
    except ValueError:
        raise InvalidInput("The body must be JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return _validated(model, text)


def _validated(model: type[BaseModel], text: str) -> BaseModel:
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise ValidationFailed("The request body is not valid.",
                               details=exc.errors(include_url=False, include_context=False,
                                                  include_input=False)) from None


def read_limited(limit: int) -> bytes:
    """The raw body, at most `limit` bytes, or a 413 (for routes with a smaller cap than the app's)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    data = request.get_data(cache=True, parse_form_data=False)
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return data
