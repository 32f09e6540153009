"""The HTTP side of FakeStrava: a Flask app whose routes read and change the FakeStrava state.

Error bodies use Strava's shape: {"message": "...", "errors": [{"resource", "field", "code"}]}.
See provider.py for the behaviour summary and its sources.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask, Response, g, jsonify, redirect, request

from . import consent

if TYPE_CHECKING:
    from .provider import FakeStrava

READ_SCOPES = ("activity:read", "activity:read_all")
UPDATABLE = ("commute", "description", "gear_id", "hide_from_home", "name", "sport_type",
             "trainer", "type")
BOOLEAN_FIELDS = ("commute", "hide_from_home", "trainer")


def error(status: int, message: str, resource: str, field: str, code: str) -> Response:
    resp = jsonify({"message": message,
                    "errors": [{"resource": resource, "field": field, "code": code}]})
    resp.status_code = status
    return resp


def _not_found(resource: str = "Activity") -> Response:
    return error(404, "Record Not Found", resource, "id", "invalid")


def _is_loopback(url: str) -> bool:
    try:
        return ipaddress.ip_address(urlsplit(url).hostname or "").is_loopback
    except ValueError:
        return urlsplit(url).hostname == "localhost"


def build_app(fake: FakeStrava) -> Flask:
    app = Flask("fake_strava")

    @app.before_request
    def log_and_limit() -> Response | None:
        fake.calls.append((request.method, request.path))
        if request.path.startswith("/api/v3/") and fake.take_outage():
            return error(503, "Service Unavailable", "Application", "api", "unavailable")
        if request.path.startswith("/api/v3/") and fake.count_api_call():
            return error(429, "Rate Limit Exceeded", "Application", "rate limit", "exceeded")
        return None

    @app.after_request
    def rate_headers(resp: Response) -> Response:
        if request.path.startswith("/api/v3/"):
            resp.headers.update(fake.rate_headers())
        return resp

    _oauth_routes(app, fake)
    _api_routes(app, fake)
    _subscription_routes(app, fake)
    consent.register(app, fake)
    return app


# ---- OAuth --------------------------------------------------------------------------------------


def _app_creds_ok(fake: FakeStrava, client_id: str | None, secret: str | None) -> bool:
    return client_id == fake.client_id and hmac.compare_digest(secret or "", fake.client_secret)


def _oauth_routes(app: Flask, fake: FakeStrava) -> None:
    @app.get("/oauth/authorize")
    def authorize() -> Any:
        a = request.args
        if a.get("client_id") != fake.client_id:
            return error(400, "Bad Request", "Application", "client_id", "invalid")
        if a.get("response_type") != "code" or not a.get("scope"):
            return error(400, "Bad Request", "Authorize", "response_type", "invalid")
        redirect_uri = a.get("redirect_uri", "")
        if not _is_loopback(redirect_uri):  # the only callback domain of the fake app
            return error(400, "Bad Request", "Application", "redirect_uri", "invalid")
        back: dict[str, str] = {"state": a["state"]} if "state" in a else {}
        chosen = int(a["athlete_id"]) if "athlete_id" in a else (
            fake.sandbox_athlete or next(iter(fake.athletes), None) or fake.add_athlete())
        if consent.wants_page(fake):  # a person decides (the sandbox); tests skip the page
            return consent.consent_page(fake, chosen)
        if a.get("deny") == "1":
            back["error"] = "access_denied"
            return redirect(f"{redirect_uri}?{urlencode(back)}")
        requested = {s for s in a["scope"].replace(" ", ",").split(",") if s}
        granted = ",".join(a.getlist("grant"))
        kept = requested if a.get("grant") is None else requested & set(granted.split(","))
        scopes = frozenset(kept | {"read"})
        athlete_id = chosen
        code = secrets.token_hex(16)
        fake.codes[code] = {"athlete_id": athlete_id, "scopes": scopes,
                            "expires": fake.clock() + timedelta(minutes=10)}
        back.update(code=code, scope=",".join(sorted(scopes)))
        return redirect(f"{redirect_uri}?{urlencode(back)}")

    @app.post("/oauth/token")
    def token() -> Any:
        f = request.form
        if not _app_creds_ok(fake, f.get("client_id"), f.get("client_secret")):
            return error(401, "Authorization Error", "Application", "client_secret", "invalid")
        grant = f.get("grant_type")
        if grant == "authorization_code":
            return _exchange(fake, f.get("code", ""))
        if grant == "refresh_token":
            return _refresh(fake, f.get("refresh_token", ""))
        return error(400, "Bad Request", "Application", "grant_type", "invalid")

    @app.post("/oauth/revoke")
    def revoke() -> Any:
        if not fake.revoke_enabled:
            return error(404, "Record Not Found", "Route", "path", "invalid")
        client_id, secret = _basic_auth()
        if not _app_creds_ok(fake, client_id, secret):
            return error(401, "Authorization Error", "Application", "client_secret", "invalid")
        tok = request.form.get("token", "")
        rec = fake.refresh_tokens.get(tok) or fake.access_tokens.get(tok)
        if rec is not None:
            fake.deauthorize_athlete(rec["athlete_id"])
        return jsonify({})  # 200 even when the token was already gone [S]

    @app.post("/oauth/deauthorize")
    def deauthorize() -> Any:
        if not fake.deauthorize_enabled:
            return error(404, "Record Not Found", "Route", "path", "invalid")
        tok = request.form.get("access_token") or _bearer()
        rec = fake.access_tokens.get(tok or "")
        if rec is None or rec["expires_at"] <= fake.now_epoch():
            return error(401, "Authorization Error", "Athlete", "access_token", "invalid")
        fake.deauthorize_athlete(rec["athlete_id"])
        return jsonify({"access_token": tok})


def _basic_auth() -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None, None
    try:
        user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None, None
    return user, pw


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _exchange(fake: FakeStrava, code: str) -> Any:
    with fake.lock:
        fake.token_calls["authorization_code"] += 1
        rec = fake.codes.pop(code, None)  # single use
        if rec is None or rec["expires"] < fake.clock():
            return error(400, "Bad Request", "AuthorizationCode", "code", "invalid")
        body = fake.issue_tokens(rec["athlete_id"], rec["scopes"])
        athlete = fake.athletes[rec["athlete_id"]]
        body["athlete"] = {k: v for k, v in athlete.items()
                           if k in ("id", "firstname", "lastname", "city", "state", "country",
                                    "sex", "premium", "summit", "created_at", "updated_at",
                                    "profile", "profile_medium")} | {"resource_state": 2}
        return jsonify(body)


def _refresh(fake: FakeStrava, refresh_token: str) -> Any:
    with fake.lock:
        fake.token_calls["refresh_token"] += 1
        rec = fake.refresh_tokens.get(refresh_token)
        if rec is None:
            return error(400, "Bad Request", "RefreshToken", "refresh_token", "invalid")
        access = rec["access"]
        current = fake.access_tokens.get(access)
        # Reuse the access token while it has more than an hour left (AUTH); otherwise a new one,
        # and the old one stays valid until its own expiry.
        if current is None or current["expires_at"] - fake.now_epoch() <= 3600:
            access = fake._new_access(rec["athlete_id"], rec["scopes"])
        new_refresh = refresh_token
        if fake.rotate_refresh_tokens:
            new_refresh = secrets.token_hex(20)
            del fake.refresh_tokens[refresh_token]
            fake.dead_refresh_tokens.add(refresh_token)
        fake.refresh_tokens[new_refresh] = rec | {"access": access}
        expires_at = fake.access_tokens[access]["expires_at"]
        return jsonify({"token_type": "Bearer", "access_token": access,
                        "refresh_token": new_refresh, "expires_at": expires_at,
                        "expires_in": expires_at - fake.now_epoch()})


# ---- API (athlete token) ------------------------------------------------------------------------


def _auth(fake: FakeStrava, need: tuple[str, ...] = ()) -> Response | None:
    """Resolve the Bearer token into g.athlete_id / g.scopes, or return the 401 to send."""
    rec = fake.access_tokens.get(_bearer() or "")
    if rec is None or rec["expires_at"] <= fake.now_epoch():
        return error(401, "Authorization Error", "Athlete", "access_token", "invalid")
    g.athlete_id, g.scopes = rec["athlete_id"], rec["scopes"]
    if need and not set(need) & rec["scopes"]:
        return error(401, "Authorization Error", "AccessToken", f"{need[0]}_permission",
                     "missing")
    return None


def _visible(activity: dict[str, Any] | None) -> bool:
    if activity is None or activity["athlete"]["id"] != g.athlete_id:
        return False
    return not activity["private"] or "activity:read_all" in g.scopes


def _api_routes(app: Flask, fake: FakeStrava) -> None:
    @app.get("/api/v3/athlete")
    def athlete() -> Any:
        if (denied := _auth(fake)) is not None:
            return denied
        body = {k: v for k, v in fake.athletes[g.athlete_id].items() if k != "authorized"}
        return jsonify(body | {"resource_state": 3 if "profile:read_all" in g.scopes else 2})

    @app.get("/api/v3/athlete/activities")
    def list_activities() -> Any:
        if (denied := _auth(fake, READ_SCOPES)) is not None:
            return denied
        a = request.args
        page, per_page = max(1, a.get("page", 1, int)), min(200, a.get("per_page", 30, int))
        before, after = a.get("before", type=int), a.get("after", type=int)
        with fake.lock:
            rows = [x for x in fake.activities.values() if _visible(x)]
        rows = [x for x in rows if _in_range(x, before, after)]
        rows.sort(key=lambda x: x["start_date"], reverse=after is None)
        chunk = rows[(page - 1) * per_page: page * per_page]
        return jsonify([fake.summary(x) for x in chunk])

    @app.get("/api/v3/activities/<int:activity_id>")
    def get_activity(activity_id: int) -> Any:
        if (denied := _auth(fake, READ_SCOPES)) is not None:
            return denied
        activity = fake.activities.get(activity_id)
        return jsonify(activity) if _visible(activity) else _not_found()

    @app.put("/api/v3/activities/<int:activity_id>")
    def put_activity(activity_id: int) -> Any:
        if (denied := _auth(fake, ("activity:write",))) is not None:
            return denied
        activity = fake.activities.get(activity_id)
        if not _visible(activity):
            return _not_found()
        fake.last_put_content_type = request.content_type
        body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
        if not isinstance(body, dict):
            return error(400, "Bad Request", "Activity", "body", "invalid")
        changes = {k: body[k] for k in UPDATABLE if k in body}
        if not request.is_json:  # form values are strings; "false" is non-empty -> true (#716)
            changes |= {k: bool(changes[k]) for k in BOOLEAN_FIELDS if k in changes}
        fake.update_activity(activity_id, **changes)
        return jsonify(fake.activities[activity_id])

    @app.get("/api/v3/activities/<int:activity_id>/streams")
    def streams(activity_id: int) -> Any:
        if (denied := _auth(fake, READ_SCOPES)) is not None:
            return denied
        if not _visible(fake.activities.get(activity_id)):
            return _not_found()
        data = fake.streams_of(activity_id)
        if data is None:  # manual activity
            return _not_found("Stream")
        keys = [k for k in request.args.get("keys", "").split(",") if k]
        if not keys:
            return error(400, "Bad Request", "Stream", "keys", "missing")
        out = {k: _stream(v) for k, v in data.items() if k in keys}
        if request.args.get("key_by_type") == "true":
            return jsonify(out)
        return jsonify([{"type": k} | v for k, v in out.items()])


def _stream(data: list[Any]) -> dict[str, Any]:
    return {"data": data, "series_type": "distance", "original_size": len(data),
            "resolution": "high"}


def _in_range(activity: dict[str, Any], before: int | None, after: int | None) -> bool:
    ts = datetime.fromisoformat(activity["start_date"].replace("Z", "+00:00")).timestamp()
    return (before is None or ts < before) and (after is None or ts > after)


# ---- push subscriptions (app credentials) -------------------------------------------------------


def _subscription_routes(app: Flask, fake: FakeStrava) -> None:
    @app.post("/api/v3/push_subscriptions")
    def create() -> Any:
        f = request.form
        if not _app_creds_ok(fake, f.get("client_id"), f.get("client_secret")):
            return error(401, "Authorization Error", "Application", "client_secret", "invalid")
        callback = f.get("callback_url", "")
        if not callback or len(callback) > 255 or not _is_loopback(callback):
            return error(400, "Bad Request", "PushSubscription", "callback url", "invalid")
        if fake.subscription is not None:
            return error(400, "Bad Request", "PushSubscription", "", "already exists")
        if (failure := _handshake(callback, f.get("verify_token", ""))) is not None:
            return error(400, "Bad Request", "PushSubscription", "callback url", failure)
        resp = jsonify({"id": fake.subscribe_directly(callback)})
        resp.status_code = 201
        return resp

    @app.get("/api/v3/push_subscriptions")
    def list_subs() -> Any:
        if not _app_creds_ok(fake, request.args.get("client_id"),
                             request.args.get("client_secret")):
            return error(401, "Authorization Error", "Application", "client_secret", "invalid")
        return jsonify([fake.subscription] if fake.subscription else [])

    @app.delete("/api/v3/push_subscriptions/<int:sub_id>")
    def delete(sub_id: int) -> Any:
        if not _app_creds_ok(fake, request.args.get("client_id"),
                             request.args.get("client_secret")):
            return error(401, "Authorization Error", "Application", "client_secret", "invalid")
        if fake.subscription is None or fake.subscription["id"] != sub_id:
            return _not_found("PushSubscription")
        fake.subscription = None
        return Response(status=204)


def _handshake(callback: str, verify_token: str) -> str | None:
    """GET the callback as Strava does; None when it echoed the challenge as JSON within 2 s."""
    challenge = secrets.token_hex(16)
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    try:
        resp = requests.get(callback, params=params, timeout=2, allow_redirects=False)
    except requests.RequestException:
        return "GET to callback URL does not return 200"
    if resp.status_code != 200:
        return "GET to callback URL does not return 200"
    try:
        echoed = resp.json().get("hub.challenge")
    except (ValueError, AttributeError):
        echoed = None
    return None if echoed == challenge else "callback url not verifiable"
