"""A fake Garmin Connect Developer Program: real HTTP on 127.0.0.1, answering as Garmin's own
documents say (quoted in `documents.py`, checked by `tests/integrations/garmin/test_fake_documents.py`).
A sandbox for the tests, the benches and local demos; `routes.py` is its HTTP side, `data.py` its
records and the summaries it makes from real FIT files.

    with FakeGarmin() as garmin:
        client = GarminClient(garmin.api_url, garmin.auth_url, garmin.token_url,
                              garmin.client_id, garmin.client_secret)
        user = garmin.add_user()
        run = garmin.add_activity(user, "msimms__20210507_run_garmin_fenix_6.fit")
        garmin.configure_receivers("http://127.0.0.1:8000")
        garmin.send_activity_files_ping(user, [run])

Documents (see documents.py for the quotes):
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

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from service.infra.loopback import LiveServer, Served

from .data import (
    ALL_PERMISSIONS,
    DEFAULT_RECEIVER_PATHS,
    FIT_DIR,
    Call,
    Callback,
    Delivery,
    Failure,
    FakeActivity,
    FakeUser,
    fit_summary,
)
from .routes import Routes


class FakeGarmin(Routes, Served):
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
        # Called with each request's path as it arrives, before it is answered: a test looks at
        # the caller's state at that moment (e.g. what our side holds while Garmin answers).
        self.watchers: list[Callable[[str], None]] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._access: dict[str, tuple[str, float]] = {}
        self._refresh: dict[str, tuple[str, float]] = {}
        self._consent_removed: dict[str, str] = {}  # access token -> user: answers 403
        self._callbacks: dict[str, Callback] = {}
        self._failures: list[Failure] = []
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
            self._failures.append(Failure(path, status, headers or {}, times))

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
                self._callbacks[activity.callback_id] = Callback(activity.activity_id,
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
