"""The HTTP side of FakeGarmin: OAuth 2.0 with PKCE and the wellness API, answering as Garmin's
documents say (see provider.py). A mixin: the handlers read and change the FakeGarmin's state."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from service.integrations.garmin.client import pkce_challenge

from .data import BACKFILL_MAX_S, PULL_MAX_S, SCOPE, Call, Callback, Failure, FakeActivity, FakeUser


class Routes:
    """Mixed into FakeGarmin: `wsgi` is what its LiveServer serves."""

    # The FakeGarmin state the handlers read and change (set in FakeGarmin.__init__).
    client_id: str
    client_secret: str
    access_ttl: int
    refresh_ttl: int
    backfill_duplicates: str
    users: dict[str, FakeUser]
    activities: dict[int, FakeActivity]
    calls: list[Call]
    pending: list[tuple[str, dict[str, Any]]]
    login_user: str | None
    deny_consent: bool
    stream_files: bool
    backfills: list[tuple[str, int, int]]
    watchers: list[Callable[[str], None]]
    _codes: dict[str, dict[str, str]]
    _access: dict[str, tuple[str, float]]
    _refresh: dict[str, tuple[str, float]]
    _consent_removed: dict[str, str]
    _callbacks: dict[str, Callback]
    _failures: list[Failure]
    _lock: threading.RLock

    if TYPE_CHECKING:  # FakeGarmin's own methods the handlers call
        def add_user(self, user_id: str | None = None,
                     permissions: set[str] | frozenset[str] = ...) -> str: ...

        def activity_files_body(self, activities: list[FakeActivity], *,
                                callback_url: str | None = None,
                                fresh: bool = False) -> dict[str, Any]: ...

    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        for watch in self.watchers:
            watch(request.path)
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
        # Any: the handlers of the open paths take None; the others a user id (checked below).
        routes: dict[tuple[str, str], Callable[[Request, Any], Response]] = {
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
