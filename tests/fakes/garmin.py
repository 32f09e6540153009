"""A fake Garmin Connect Developer Program: real HTTP on 127.0.0.1, answering as Garmin's own
documents say (quoted in `tests/fakes/garmin_documents.py`, checked by
`tests/fakes/test_garmin_fake_documents.py`).

    with FakeGarmin() as garmin:
        client = GarminClient(garmin.api_url, garmin.auth_url, garmin.token_url,
                              garmin.client_id, garmin.client_secret)
        user = garmin.add_user()
        run = garmin.add_activity(user, "msimms__20210507_run_garmin_fenix_6.fit")
        garmin.configure_receivers("http://127.0.0.1:8000")
        garmin.send_activity_files_ping(user, [run])

Documents (see garmin_documents.py for the quotes):
- "Garmin Developer Program – Activity API" v1.2.3 (09/09/2025) [ACT]: ping (§4.2), push (§5.1),
  summary fields (§7.1), activityFiles ping and "Duplicate downloads will be rejected with HTTP
  410" (§7.4), backfill "maximum date range (inclusive) ... 30 days", 202, "Duplicate Backfill
  requests are rejected with HTTP 409 status (duplicate requests – requests for already
  requested time period)" (§8), Appendix B errors: `{"errorMessage": ...}`; 401 "The
  authorization for the request failed"; 403 "a token that has been invalidated by the user
  removing their consent from the Garmin Connect account page"; 409 "Backfill Duplicate
  request"; 412 "The User Access Token is valid, but the user has not given his permission for
  the summary-type".
- "Garmin Connect Developer Program – Start Guide" v1.1.0 (06/30/2025) [START]: deregistration
  notification (§2.6.2), userPermissionsChange notification and GET user/permissions (§2.6.3:
  when sharing is off "the user's access token will still be valid, but no data will be
  shared"), DELETE user/registration → 204 then "a final User Deregistration notification" and
  requests "rejected as unauthorized" (§3.1), GET user/id (§3.2).
- Garmin "OAuth2.0 PKCE Specification" [PKCE, quoted via public copies, not read directly]:
  token response with `expires_in: 86400` and `refresh_token_expires_in: 7775998`; a new
  refresh token on every refresh.

Assumptions (no Garmin document found; each is a knob or a plain choice here):
- A refresh token past `refresh_token_expires_in`, or of a user who removed consent, gets
  `400 {"error": "invalid_grant"}` (RFC 6749 §5.2, not Garmin's text).
- An access token past `expires_in`, or never issued, gets 401; a token of a user who removed
  consent in Garmin Connect gets 403 (Appendix B); after our DELETE user/registration, 401
  ("rejected as unauthorized", START §3.1).
- Appendix B's 403/412 also apply to the activityFile callback (the doc lists them for "the
  service" as a whole).
- Whether a backfill 409 is for the *exact* range requested before or for *any overlap* with
  an earlier request is not said ("requests for already requested time period"):
  `backfill_duplicates` = "exact" (default) or "overlap" lets tests cover both.
- Garmin keeps its record of requested ranges across a deregistration and reconnect (the
  userId persists, START §3.2); a backfill for a user without ACTIVITY_EXPORT gets 412.

What it does besides: a call log, failure injection, and `pending` notifications that Garmin
would send on its own (after a backfill or a deregistration), delivered when a test says so.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.wrappers import Request, Response

from service.integrations.garmin.client import pkce_challenge

from .server import LiveServer, Served

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIT_DIR = DATA_DIR / "activities" / "fit"

SCOPE = "PARTNER_WRITE PARTNER_READ CONNECT_READ CONNECT_WRITE"
ALL_PERMISSIONS = frozenset({"ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT",
                             "COURSE_IMPORT", "MCT_EXPORT"})
DEFAULT_RECEIVER_PATHS = {
    "activities": "/webhooks/garmin/activities",
    "activityFiles": "/webhooks/garmin/activity-files",
    "deregistrations": "/webhooks/garmin/deregistrations",
    "userPermissionsChange": "/webhooks/garmin/permissions",
}
BACKFILL_MAX_S = 30 * 86400
PULL_MAX_S = 86400  # apis.md §7: summary pulls span at most 24 h of upload time


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    user_id: str | None = None  # whose bearer token was presented, when valid


@dataclass
class Delivery:
    kind: str
    url: str
    body: dict[str, Any]
    status: int | None
    error: str | None = None


@dataclass
class FakeUser:
    user_id: str
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    registered: bool = True
    consent_removed: bool = False  # removed in Garmin Connect (not by our DELETE)


@dataclass
class FakeActivity:
    user_id: str
    activity_id: int
    summary: dict[str, Any]
    fit_path: Path | None
    upload_time: int
    callback_id: str | None = None

    @property
    def start(self) -> int:
        return int(self.summary["startTimeInSeconds"])


@dataclass
class _Callback:
    activity_id: int
    token: str
    downloaded: bool = False


@dataclass
class _Failure:
    path: str
    status: int
    headers: dict[str, str]
    remaining: int


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Canary:
    """A loopback server that records every request: a notification receiver for tests, or proof
    that nothing was sent to a host we must never contact."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[Recorded] = []
        self._server = LiveServer(self._app)

    def _app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(Recorded(request.method, request.path, dict(request.headers),
                                      request.get_data()))
        return Response("ok", status=self.status)(environ, start_response)

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> Canary:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@lru_cache(maxsize=64)
def fit_summary(path: Path) -> dict[str, Any]:
    """A Garmin-style activity summary derived from a FIT file's session (device totals)."""
    import fitparse  # test-side only; parsing a whole file takes up to ~1 s, hence the cache

    fit = fitparse.FitFile(str(path))
    session = next(m.get_values() for m in fit.get_messages("session"))
    ident = next((m.get_values() for m in fit.get_messages("file_id")), {})
    start = session["start_time"].replace(tzinfo=UTC)
    sport, sub = str(session.get("sport") or "generic"), str(session.get("sub_sport") or "")
    return {
        "activityType": _garmin_type(sport, sub),
        "startTimeInSeconds": int(start.timestamp()),
        "durationInSeconds": round(session.get("total_timer_time") or 0),
        "distanceInMeters": session.get("total_distance"),
        "totalElevationGainInMeters": session.get("total_ascent"),
        "totalElevationLossInMeters": session.get("total_descent"),
        "deviceName": f"{ident.get('manufacturer', 'garmin')} {ident.get('product', '')}".strip(),
    }


def _garmin_type(sport: str, sub_sport: str) -> str:
    if sport == "running":
        return {"trail": "TRAIL_RUNNING", "track": "TRACK_RUNNING", "treadmill":
                "TREADMILL_RUNNING", "indoor_running": "INDOOR_RUNNING"}.get(sub_sport, "RUNNING")
    return sport.upper()


class FakeGarmin(Served):
    def __init__(self, client_id: str = "kg-garmin-client",
                 client_secret: str = "kg-garmin-secret", *, access_ttl: int = 86400,
                 refresh_ttl: int = 7775998) -> None:
        self.client_id, self.client_secret, self.access_ttl = client_id, client_secret, access_ttl
        self.refresh_ttl = refresh_ttl  # PKCE spec example: "refresh_token_expires_in": 7775998
        self.backfill_duplicates = "exact"  # or "overlap": see the module docstring
        self.users: dict[str, FakeUser] = {}
        self.activities: dict[int, FakeActivity] = {}
        self.receivers: dict[str, str] = {}
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.login_user: str | None = None  # who consents on the next authorize; None = new user
        self.deny_consent = False
        self.stream_files = False  # serve files chunked, without Content-Length
        self.backfills: list[tuple[str, int, int]] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._access: dict[str, tuple[str, float]] = {}
        self._refresh: dict[str, tuple[str, float]] = {}
        self._consent_removed: dict[str, str] = {}  # access token -> user: answers 403
        self._callbacks: dict[str, _Callback] = {}
        self._failures: list[_Failure] = []
        self._next_id = 10010727180
        self._lock = threading.RLock()
        self._server = LiveServer(self.wsgi)

    # -- URLs (start/stop/url come from Served) ---------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def auth_url(self) -> str:
        return self.url + "/oauth2Confirm"

    @property
    def token_url(self) -> str:
        return self.url + "/di-oauth2-service/integrations/oauth/token"

    # -- test setup ------------------------------------------------------------------------------

    def add_user(self, user_id: str | None = None,
                 permissions: set[str] | frozenset[str] = ALL_PERMISSIONS) -> str:
        user_id = user_id or f"gu-{secrets.token_hex(8)}"
        with self._lock:
            self.users[user_id] = FakeUser(user_id, set(permissions))
        return user_id

    def add_activity(self, user_id: str, fit_file: str | Path | None = None, *,
                     summary: dict[str, Any] | None = None) -> FakeActivity:
        """An activity in the user's Garmin account. With a FIT file (a name in the shared data
        folder or a path) the summary comes from the file's session, overridden by `summary`;
        without one it is a manual entry and `summary` must give startTimeInSeconds."""
        path = None if fit_file is None else Path(fit_file)
        if path is not None and not path.is_absolute():
            path = FIT_DIR / path
        with self._lock:
            self._next_id += 1
            aid = self._next_id
        base = {"userId": user_id, "summaryId": str(aid), "activityId": aid,
                "activityName": path.stem if path else "Manual run", "activityType": "RUNNING",
                "startTimeOffsetInSeconds": 0, "manual": path is None}
        data = {**base, **(fit_summary(path) if path else {}), **(summary or {})}
        act = FakeActivity(user_id, aid, data, path, upload_time=int(time.time()))
        with self._lock:
            self.activities[aid] = act
        return act

    def configure_receivers(self, base_url: str, paths: dict[str, str] | None = None) -> None:
        self.receivers = {k: base_url.rstrip("/") + p
                          for k, p in (paths or DEFAULT_RECEIVER_PATHS).items()}

    def fail_next(self, path: str, status: int, *, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """The next `times` requests to `path` get `status` (e.g. 429 with Retry-After, 503)."""
        with self._lock:
            self._failures.append(_Failure(path, status, headers or {}, times))

    def revoke_user(self, user_id: str) -> None:
        """The user removed us in Garmin Connect: their access tokens now answer 403 (Appendix
        B), refresh answers invalid_grant, and a deregistration notification is queued in
        `pending` (tests decide whether it ever arrives)."""
        with self._lock:
            user = self.users[user_id]
            user.registered, user.consent_removed = False, True
            for token, (uid, _) in self._access.items():
                if uid == user_id:
                    self._consent_removed[token] = uid
            self._drop_tokens(user_id)
            self.pending.append(("deregistrations", {"deregistrations": [{"userId": user_id}]}))

    def expire_access_tokens(self, user_id: str) -> None:
        with self._lock:
            for token, (uid, _) in list(self._access.items()):
                if uid == user_id:
                    self._access[token] = (uid, 0.0)

    def age_tokens(self, user_id: str, seconds: float) -> None:
        """As if `seconds` had passed for this user's tokens (access and refresh)."""
        with self._lock:
            for table in (self._access, self._refresh):
                for token, (uid, expires) in list(table.items()):
                    if uid == user_id:
                        table[token] = (uid, expires - seconds)

    def refresh_expiry(self, user_id: str) -> list[float]:
        """Expiry times (epoch s) of the user's live refresh tokens."""
        with self._lock:
            return [exp for uid, exp in self._refresh.values() if uid == user_id]

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def callback_url(self, activity: FakeActivity, *, fresh: bool = False) -> str:
        """The one-time download URL of an activity's file (minted on first use)."""
        with self._lock:
            if activity.callback_id is None or fresh:
                activity.callback_id = secrets.token_hex(8)
                self._callbacks[activity.callback_id] = _Callback(activity.activity_id,
                                                                  secrets.token_urlsafe(16))
            cb = self._callbacks[activity.callback_id]
        query = urlencode({"id": activity.callback_id, "token": cb.token})
        return f"{self.url}/wellness-api/rest/activityFile?{query}"

    # -- notification bodies (documented shapes) and sending -------------------------------------

    def activity_files_body(self, activities: list[FakeActivity], *,
                            callback_url: str | None = None,
                            fresh: bool = False) -> dict[str, Any]:
        items = [{
            "userId": a.user_id, "summaryId": f"{a.activity_id}-file", "fileType": "FIT",
            "callbackURL": callback_url or self.callback_url(a, fresh=fresh),
            "startTimeInSeconds": a.start, "activityId": a.activity_id,
            "activityName": a.summary.get("activityName"),
            "activityType": a.summary.get("activityType"),
            "deviceName": a.summary.get("deviceName"), "manual": a.summary.get("manual", False),
        } for a in activities if a.fit_path is not None]
        return {"activityFiles": items}

    def send_activity_files_ping(self, user_id: str, activities: list[FakeActivity], *,
                                 callback_url: str | None = None) -> Delivery:
        mine = [a for a in activities if a.user_id == user_id]
        return self.send("activityFiles",
                         self.activity_files_body(mine, callback_url=callback_url))

    def send_activities_push(self, user_id: str, activities: list[FakeActivity]) -> Delivery:
        items = [dict(a.summary) for a in activities if a.user_id == user_id]
        return self.send("activities", {"activities": items})

    def send_activities_ping(self, user_id: str, upload_start: int, upload_end: int) -> Delivery:
        query = urlencode({"uploadStartTimeInSeconds": upload_start,
                           "uploadEndTimeInSeconds": upload_end,
                           "token": secrets.token_urlsafe(8)})
        url = f"{self.url}/wellness-api/rest/activities?{query}"
        return self.send("activities", {"activities": [{"userId": user_id, "callbackURL": url}]})

    def send_deregistration(self, user_id: str) -> Delivery:
        """Only the notification, tokens untouched: what a forger can send. apis.md §7: payload
        `{"deregistrations":[{"userId":"…"}]}`, no signature, only the garmin-client-id header
        (reliability.md §4). A real one follows `revoke_user` (tokens refused first)."""
        return self.send("deregistrations", {"deregistrations": [{"userId": user_id}]})

    def send_permissions_change(self, user_id: str, permissions: set[str]) -> Delivery:
        with self._lock:
            self.users[user_id].permissions = set(permissions)
        item = {"userId": user_id, "summaryId": f"x{secrets.token_hex(6)}",
                "permissions": sorted(permissions), "changeTimeInSeconds": int(time.time())}
        return self.send("userPermissionsChange", {"userPermissionsChange": [item]})

    def send(self, kind: str, body: dict[str, Any]) -> Delivery:
        """POST one notification to the receiver configured for `kind` (Garmin sends only a
        `garmin-client-id` header: notifications are not signed)."""
        url = self.receivers.get(kind)
        if url is None:
            raise RuntimeError(f"no receiver configured for {kind!r}")
        headers = {"garmin-client-id": self.client_id}
        try:
            resp = requests.post(url, json=body, headers=headers, timeout=30)
            delivery = Delivery(kind, url, body, resp.status_code)
        except requests.RequestException as exc:
            delivery = Delivery(kind, url, body, None, type(exc).__name__)
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def deliver_pending(self) -> list[Delivery]:
        with self._lock:
            queued, self.pending = self.pending, []
        return [self.send(kind, body) for kind, body in queued]

    # -- HTTP ------------------------------------------------------------------------------------

    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        user_id, denied = self._bearer_user(request)
        response = self._injected_failure(request.path) or self._dispatch(request, user_id,
                                                                          denied)
        with self._lock:
            self.calls.append(Call(request.method, request.path, dict(request.args),
                                   response.status_code, user_id))
        return response(environ, start_response)

    _OPEN = frozenset({"/oauth2Confirm", "/di-oauth2-service/integrations/oauth/token",
                       "/wellness-api/rest/activityFile"})  # not bearer-checked here

    def _dispatch(self, request: Request, user_id: str | None, denied: int) -> Response:
        routes = {
            ("GET", "/oauth2Confirm"): self._authorize,
            ("POST", "/di-oauth2-service/integrations/oauth/token"): self._token,
            ("GET", "/wellness-api/rest/user/id"): self._user_id,
            ("GET", "/wellness-api/rest/user/permissions"): self._permissions,
            ("DELETE", "/wellness-api/rest/user/registration"): self._deregister,
            ("GET", "/wellness-api/rest/backfill/activities"): self._backfill,
            ("GET", "/wellness-api/rest/activityFile"): self._activity_file,
            ("GET", "/wellness-api/rest/activities"): self._pull_activities,
        }
        handler = routes.get((request.method, request.path))
        if handler is None:
            return _json({"errorMessage": "not found"}, 404)
        if user_id is None and request.path not in self._OPEN:
            return _denied(denied)
        with self._lock:
            return handler(request, user_id)

    def _injected_failure(self, path: str) -> Response | None:
        with self._lock:
            for failure in self._failures:
                if failure.path == path and failure.remaining > 0:
                    failure.remaining -= 1
                    return Response("injected failure", failure.status, headers=failure.headers)
        return None

    def _bearer_user(self, request: Request) -> tuple[str | None, int]:
        """(user id, None) for a live token, else (None, 401 or 403)."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None, 401
        with self._lock:
            if auth[7:] in self._consent_removed:
                return None, 403  # Appendix B: "invalidated by the user removing their consent"
            uid, expires = self._access.get(auth[7:], ("", 0.0))
        return (uid, 0) if uid and expires > time.time() else (None, 401)

    # OAuth 2.0 + PKCE ---------------------------------------------------------------------------

    def _authorize(self, request: Request, _: str | None) -> Response:
        q = request.args
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return _json({"error": "invalid_request"}, 400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return _json({"error": "invalid_request", "error_description": "PKCE S256"}, 400)
        redirect, state = q.get("redirect_uri", ""), q.get("state", "")
        if self.deny_consent:
            return _redirect(redirect, {"error": "access_denied", "state": state})
        user_id = self.login_user or self.add_user()
        user = self.users.setdefault(user_id, FakeUser(user_id))
        user.registered, user.consent_removed = True, False  # consent given again
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"user": user_id, "challenge": q["code_challenge"],
                             "redirect_uri": redirect}
        return _redirect(redirect, {"code": code, "state": state})

    def _token(self, request: Request, _: str | None) -> Response:
        form = request.form
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                   self.client_secret):
            return _json({"error": "invalid_client"}, 401)
        if form.get("grant_type") == "authorization_code":
            user_id = self._redeem_code(form)
        elif form.get("grant_type") == "refresh_token":
            uid, expires = self._refresh.pop(form.get("refresh_token", ""), (None, 0.0))  # rotation
            user_id = uid if expires > time.time() else None
        else:
            return _json({"error": "unsupported_grant_type"}, 400)
        if user_id is None or not self.users[user_id].registered:
            return _json({"error": "invalid_grant"}, 400)
        return _json(self._issue_tokens(user_id), 200)

    def _redeem_code(self, form: Any) -> str | None:
        grant = self._codes.pop(form.get("code", ""), None)  # single use, even when it fails
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return None
        verifier = form.get("code_verifier", "")
        if not verifier.isascii() or pkce_challenge(verifier) != grant["challenge"]:
            return None
        return grant["user"]

    def _issue_tokens(self, user_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.time()
        self._access[access] = (user_id, now + self.access_ttl)
        self._refresh[refresh] = (user_id, now + self.refresh_ttl)
        return {"access_token": access, "expires_in": self.access_ttl, "token_type": "bearer",
                "refresh_token": refresh, "scope": SCOPE, "jti": secrets.token_hex(16),
                "refresh_token_expires_in": self.refresh_ttl}

    def _drop_tokens(self, user_id: str) -> None:
        self._access = {t: v for t, v in self._access.items() if v[0] != user_id}
        self._refresh = {t: v for t, v in self._refresh.items() if v[0] != user_id}

    # wellness API -------------------------------------------------------------------------------

    def _user_id(self, _: Request, user_id: str) -> Response:
        return _json({"userId": user_id}, 200)

    def _permissions(self, _: Request, user_id: str) -> Response:
        return _json(sorted(self.users[user_id].permissions), 200)

    def _no_activity_export(self, user_id: str) -> Response | None:
        """Appendix B 412: sharing is off for this summary type (the token stays valid)."""
        if "ACTIVITY_EXPORT" in self.users[user_id].permissions:
            return None
        return _json({"errorMessage": "User has not given permission for ACTIVITY_EXPORT"}, 412)

    def _deregister(self, _: Request, user_id: str) -> Response:
        self.users[user_id].registered = False
        self._drop_tokens(user_id)
        # apis.md §7: "a final User Deregistration notification will be sent"
        self.pending.append(("deregistrations", {"deregistrations": [{"userId": user_id}]}))
        return Response(status=204)

    def _backfill(self, request: Request, user_id: str) -> Response:
        if (refused := self._no_activity_export(user_id)) is not None:
            return refused
        try:
            start = int(request.args["summaryStartTimeInSeconds"])
            end = int(request.args["summaryEndTimeInSeconds"])
        except (KeyError, ValueError):
            return _json({"errorMessage": "summary start and end times required"}, 400)
        if not 0 < end - start <= BACKFILL_MAX_S:
            return _json({"errorMessage": "range must be 1 s to 30 days"}, 400)
        if (earlier := self._earlier_backfill(user_id, start, end)) is not None:
            return _json({"errorMessage": f"[{secrets.token_hex(4)}]duplicate backfill processed "
                                          f"at {_iso(earlier[2])} [{_iso(earlier[1])} to "
                                          f"{_iso(earlier[2])}]"}, 409)
        self.backfills.append((user_id, start, end))
        found = [a for a in self.activities.values()
                 if a.user_id == user_id and start <= a.start < end]
        if found:
            self.pending.append(("activities", {"activities": [dict(a.summary) for a in found]}))
            files = self.activity_files_body(found, fresh=True)  # a new notification
            if files["activityFiles"]:
                self.pending.append(("activityFiles", files))
        return Response(status=202)

    def _earlier_backfill(self, user_id: str, start: int, end: int) -> tuple | None:
        for earlier in self.backfills:
            if earlier[0] != user_id:
                continue
            if self.backfill_duplicates == "exact" and earlier[1:] == (start, end):
                return earlier
            if self.backfill_duplicates == "overlap" and earlier[1] < end and start < earlier[2]:
                return earlier
        return None

    def _activity_file(self, request: Request, _: str | None) -> Response:
        cb = self._callbacks.get(request.args.get("id", ""))
        if cb is None or not secrets.compare_digest(cb.token, request.args.get("token", "")):
            return _json({"errorMessage": "unknown callback"}, 404)
        owner = self.users[self.activities[cb.activity_id].user_id]
        if owner.consent_removed:
            return _denied(403)
        if (refused := self._no_activity_export(owner.user_id)) is not None:
            return refused
        if cb.downloaded:
            return _json({"errorMessage": "file already downloaded"}, 410)
        cb.downloaded = True
        data = self.activities[cb.activity_id].fit_path.read_bytes()  # type: ignore[union-attr]
        if self.stream_files:  # chunked: no Content-Length to check up front
            chunks = [data[i:i + 8192] for i in range(0, len(data), 8192)]
            return Response(iter(chunks), 200, mimetype="application/octet-stream")
        return Response(data, 200, mimetype="application/octet-stream")

    def _pull_activities(self, request: Request, user_id: str) -> Response:
        if (refused := self._no_activity_export(user_id)) is not None:
            return refused
        try:
            start = int(request.args["uploadStartTimeInSeconds"])
            end = int(request.args["uploadEndTimeInSeconds"])
        except (KeyError, ValueError):
            return _json({"errorMessage": "upload start and end times required"}, 400)
        if not 0 < end - start <= PULL_MAX_S:
            return _json({"errorMessage": "range must be 1 s to 24 h"}, 400)
        found = [dict(a.summary) for a in self.activities.values()
                 if a.user_id == user_id and start <= a.upload_time < end]
        return _json(found, 200)


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _denied(status: int) -> Response:
    message = {401: "Unauthorized", 403: "User Access Token is unknown or consent was removed"}
    return _json({"errorMessage": message.get(status, "Unauthorized")}, status or 401)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _redirect(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in uri else "?"
    return Response(status=302, headers={"Location": f"{uri}{sep}{urlencode(params)}"})
