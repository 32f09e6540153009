"""Garmin Connect Developer Program: OAuth 2.0 + PKCE, user endpoints, backfill, one-time FIT
downloads, and parsers for the notifications Garmin POSTs to us.

Pure provider code: no Flask, no database. Every request goes through `service.infra.http.request`.
The notification parsers are in `garmin_notifications` (re-exported here); they never touch the
network: the receiver stores what they return and a job calls `GarminClient.download_file` later
(Garmin's ping times out after 30 s).

# Reference: ../shared/reference/apis.md §7 (Garmin Connect Developer Program, GARMIN-ACT v1.2.3)
# Reference: ../shared/reference/reliability.md §4 (Garmin inbound pitfalls), §5.1 (PKCE)
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from service.infra import http
from service.integrations.base import AuthRevoked, ProviderError, RateLimited, RemoteActivity, TokenSet

# The notification parsers live in garmin_notifications; re-exported so `from
# service.integrations.garmin.client import parse_activity_files` keeps working.
from service.integrations.garmin.notifications import (
    ACTIVITY_EXPORT,
    ActivitiesNotification,
    ActivityFileNotice,
    ActivitySummary,
    Deregistration,
    NotificationError,
    PermissionChange,
    SummaryPing,
    garmin_sport,
    is_from_our_app,
    parse_activities,
    parse_activity_details,
    parse_activity_files,
    parse_deregistrations,
    parse_permission_changes,
    summary_to_remote_activity,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "ACTIVITY_EXPORT", "AccessRevoked", "ActivitiesNotification", "ActivityFileNotice", "ActivitySummary",
    "AuthRevoked", "BackfillResult", "CallbackRefused", "Deregistration", "FileGone",
    "FileTooLarge", "GarminClient", "NotificationError", "PermissionChange", "ProviderError",
    "RateLimited", "RemoteActivity", "SummaryPing", "TokenSet", "backfill_chunks", "garmin_sport",
    "is_allowed_callback", "is_from_our_app", "needs_refresh", "new_pkce_pair",
    "parse_activities", "parse_activity_details", "parse_activity_files", "parse_deregistrations",
    "parse_permission_changes", "PermissionMissing", "pkce_challenge", "summary_to_remote_activity",
]

# Reference: apis.md §7 "OAuth2 flow" and "Users" (documented production endpoints).
DEFAULT_API_URL = "https://apis.garmin.com"
DEFAULT_AUTH_URL = "https://connect.garmin.com/oauth2Confirm"
DEFAULT_TOKEN_URL = "https://diauth.garmin.com/di-oauth2-service/integrations/oauth/token"

REFRESH_MARGIN = timedelta(seconds=600)  # apis.md §7: "Refresh at least 600 s early."
BACKFILL_MAX_SPAN = timedelta(days=30)  # apis.md §7 Backfill: "At most 30 days per request."
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024  # a 24 h activity FIT is a few MB; this is a DoS cap
DEFAULT_RETRY_AFTER = 60.0  # Garmin documents no Retry-After; back off a minute when it is absent

_USER_ID_PATH = "/wellness-api/rest/user/id"
_PERMISSIONS_PATH = "/wellness-api/rest/user/permissions"
_REGISTRATION_PATH = "/wellness-api/rest/user/registration"
_BACKFILL_PATH = "/wellness-api/rest/backfill/activities"


class AccessRevoked(AuthRevoked):
    """HTTP 403. GARMIN-ACT v1.2.3 Appendix B: "The User Access Token in the request header is
    unknown. This could be the result of a malformed token or a token that has been invalidated
    by the user removing their consent from the Garmin Connect account page." """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.status = 403


class PermissionMissing(ProviderError):
    """HTTP 412. GARMIN-ACT v1.2.3 Appendix B: "The User Access Token is valid, but the user has
    not given his permission for the summary-type on the Garmin Connect account page." The
    connection stays; ingestion pauses until the permission returns."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True, status=412)


class FileGone(ProviderError):
    """The one-time callback URL was already used or expired (HTTP 410). Garmin will not serve the
    file again: the caller must use the copy it stored after the first download."""

    def __init__(self, message: str = "callback file already downloaded or expired") -> None:
        super().__init__(message, permanent=True, status=410)


class FileTooLarge(ProviderError):
    """The download exceeded the configured cap; retrying would fetch the same bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"file larger than {limit} bytes", permanent=True, status=None)
        self.limit = limit


class CallbackRefused(ProviderError):
    """A notification's callback URL is not on the configured Garmin API origin. Notifications are
    unsigned, so a forged one could otherwise make us fetch (and send a token to) any URL."""

    def __init__(self, url: str) -> None:
        super().__init__(f"callback URL not on the Garmin API host: {url[:200]!r}", permanent=True)


@dataclass(frozen=True, slots=True)
class BackfillResult:
    start: datetime
    end: datetime
    duplicate: bool  # Garmin answered 409: "Request for this timeframe was already made."
    message: str | None = None  # Garmin's errorMessage on a 409 (names the earlier request)


# ---------------------------------------------------------------------------------------------
# PKCE and token helpers (pure)
# ---------------------------------------------------------------------------------------------


def pkce_challenge(verifier: str) -> str:
    """S256 challenge: BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce_pair() -> tuple[str, str]:
    """(verifier, challenge). token_urlsafe(64) gives 86 chars, inside RFC 7636's 43..128."""
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def needs_refresh(expires_at: datetime, now: datetime | None = None) -> bool:
    """True when the access token expires within REFRESH_MARGIN (or already has)."""
    return (now or datetime.now(UTC)) >= expires_at - REFRESH_MARGIN


def backfill_chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Split [start, end) into consecutive ranges of at most 30 days, oldest first."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("backfill range must be timezone-aware")
    chunks: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        stop = min(cursor + BACKFILL_MAX_SPAN, end)
        chunks.append((cursor, stop))
        cursor = stop
    return chunks


# ---------------------------------------------------------------------------------------------
# Callback URL allowlist (pure)
# ---------------------------------------------------------------------------------------------

# Printable ASCII that RFC 3986 allows in a URL. Anything else (spaces, tabs, backslashes, non-ASCII
# look-alikes) is refused outright: that is where URL parsers disagree with each other.
_URL_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_MAX_URL_LEN = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Lower-case DNS name or IPv4 literal, no empty labels or trailing dot; optional port without
# leading zeros. Exact spelling only: case, trailing-dot and userinfo variants are refused.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_NETLOC = re.compile(rf"(?P<host>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[1-9][0-9]{{0,4}}))?")


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, effective port) of a strictly spelled absolute http(s) URL, else None."""
    if not url or len(url) > _MAX_URL_LEN or not set(url) <= _URL_CHARS:
        return None
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not url.startswith(parts.scheme + "://"):
        return None
    match = _NETLOC.fullmatch(parts.netloc)
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else _DEFAULT_PORTS[parts.scheme]
    return (parts.scheme, match["host"], port) if port <= 65535 else None


def is_allowed_callback(url: object, api_url: str) -> bool:
    """True only when `url` has exactly the scheme, host and port of the configured Garmin API.

    # Reference: reliability.md §4: "allowlist the callbackURL host as apis.garmin.com. That keeps a
    # forged push from making us fetch an attacker URL or leak tokens."
    """
    if not isinstance(url, str):
        return False
    mine = _origin(api_url)
    return mine is not None and _origin(url) == mine


def _safe_callback_url(url: str, api_url: str) -> str:
    """The URL we actually request: the configured origin plus the callback's path and query, so
    no parser difference between this check and the HTTP library can send us elsewhere."""
    if not is_allowed_callback(url, api_url):
        raise CallbackRefused(url)
    parts, base = urlsplit(url), urlsplit(api_url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base.scheme}://{base.netloc}{parts.path or '/'}{query}"


# ---------------------------------------------------------------------------------------------
# Error mapping
# ---------------------------------------------------------------------------------------------


def _retry_after(resp: requests.Response) -> float:
    try:
        seconds = float(resp.headers.get("Retry-After", ""))
    except ValueError:  # absent, or an HTTP-date: wait the default
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), 3600.0) if seconds == seconds else DEFAULT_RETRY_AFTER  # NaN


def _raise_for_status(resp: requests.Response, what: str) -> None:
    """401 → AuthRevoked, 403 → AccessRevoked, 412 → PermissionMissing, 429 → RateLimited,
    5xx → transient, any other non-2xx → permanent (GARMIN-ACT v1.2.3 Appendix B)."""
    status = resp.status_code
    if 200 <= status < 300:
        return
    if status == 401:
        raise AuthRevoked(f"garmin {what}: 401 unauthorized")
    if status == 403:
        raise AccessRevoked(f"garmin {what}: 403 token unknown or consent removed")
    if status == 412:
        raise PermissionMissing(f"garmin {what}: 412 permission not given for this data")
    if status == 429:
        raise RateLimited(f"garmin {what}: rate limited", retry_after=_retry_after(resp))
    if status == 410:
        raise FileGone(f"garmin {what}: 410 gone")
    permanent = status < 500  # 3xx included: we never follow redirects from a provider
    said = _error_message(resp)
    raise ProviderError(f"garmin {what}: HTTP {status}" + (f": {said}" if said else ""),
                        permanent=permanent, status=status)


def _error_message(resp: requests.Response) -> str | None:
    """Appendix B: error bodies are `{"errorMessage": "..."}`; kept short, never trusted."""
    try:
        body = resp.json()
    except ValueError:
        return None
    said = body.get("errorMessage") if isinstance(body, dict) else None
    return str(said)[:200] if said else None


def _send(method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
    """One request through the seam; network failures become transient ProviderErrors."""
    try:
        return http.request(method, url, **kwargs)
    except OSError as exc:  # requests.RequestException derives from IOError
        raise ProviderError(f"garmin {what}: {type(exc).__name__}", permanent=False) from exc


def _json(resp: requests.Response, what: str) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise ProviderError(f"garmin {what}: response is not JSON",
                            status=resp.status_code) from exc


# ---------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------


class GarminClient:
    """Talks to one Garmin deployment (production or a fake) with one app's credentials."""

    def __init__(self, api_url: str, auth_url: str, token_url: str, client_id: str,
                 client_secret: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth_url = auth_url
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self._now = clock or (lambda: datetime.now(UTC))

    # -- OAuth 2.0 + PKCE ------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str, code_challenge: str) -> str:
        # Reference: apis.md §7 OAuth2 flow (authorize query parameters).
        query = urlencode({
            "response_type": "code", "client_id": self.client_id,
            "code_challenge": code_challenge, "code_challenge_method": "S256",
            "redirect_uri": redirect_uri, "state": state,
        })
        return f"{self.auth_url}{'&' if '?' in self.auth_url else '?'}{query}"

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        return self._token_call("code exchange", {
            "grant_type": "authorization_code", "code": code,
            "code_verifier": code_verifier, "redirect_uri": redirect_uri,
        })

    def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens. Garmin rotates the refresh token: persist the returned one, drop the old."""
        return self._token_call("refresh", {"grant_type": "refresh_token",
                                            "refresh_token": refresh_token})

    def _token_call(self, what: str, form: dict[str, str]) -> TokenSet:
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        resp = _send("POST", self.token_url, what, data=form,
                     headers={"Accept": "application/json"})
        if resp.status_code in (400, 401) and _oauth_error(resp) == "invalid_grant":
            # RFC 6749 §5.2: the code or refresh token is dead (used, expired, revoked, or a
            # wrong PKCE verifier). A dead refresh token means the connection needs re-consent.
            if form["grant_type"] == "refresh_token":
                raise AuthRevoked(f"garmin {what}: invalid_grant")
            raise ProviderError(f"garmin {what}: invalid_grant", permanent=True,
                                status=resp.status_code)
        if resp.status_code == 401:
            # A 401 from the token endpoint is our client credentials, not the user's grant.
            raise ProviderError(f"garmin {what}: client rejected", permanent=True, status=401)
        _raise_for_status(resp, what)
        return self._token_set(_json(resp, what), what)

    def _token_set(self, body: Any, what: str) -> TokenSet:
        try:
            now = self._now()
            expires_in = float(body.get("expires_in", 86400))
            # OAuth2 PKCE spec example: "refresh_token_expires_in": 7775998 (~90 days).
            refresh_in = body.get("refresh_token_expires_in")
            return TokenSet(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_at=now + timedelta(seconds=expires_in),
                scopes=frozenset(str(body.get("scope") or "").split()),
                refresh_expires_at=None if refresh_in is None
                else now + timedelta(seconds=float(refresh_in)),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"garmin {what}: malformed token response") from exc

    # -- user endpoints --------------------------------------------------------------------------

    def _api(self, method: str, path: str, access_token: str, what: str,
             **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        resp = _send(method, self.api_url + path, what, headers=headers, **kwargs)
        _raise_for_status(resp, what)
        return resp

    def get_user_id(self, access_token: str) -> str:
        """Garmin's stable user id (survives token changes and re-registration)."""
        body = _json(self._api("GET", _USER_ID_PATH, access_token, "user id"), "user id")
        user_id = body.get("userId") if isinstance(body, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise ProviderError("garmin user id: no userId in response")
        return user_id

    def get_permissions(self, access_token: str) -> frozenset[str]:
        """What the user chose to share, e.g. {"ACTIVITY_EXPORT", "HEALTH_EXPORT"}."""
        body = _json(self._api("GET", _PERMISSIONS_PATH, access_token, "permissions"),
                     "permissions")
        if not isinstance(body, list):
            raise ProviderError("garmin permissions: expected a JSON list")
        return frozenset(str(p) for p in body)

    def deregister(self, access_token: str) -> None:
        """DELETE the user's registration (Garmin stops all notifications for the user). An
        AuthRevoked here means the user already revoked us: the caller may treat it as done."""
        self._api("DELETE", _REGISTRATION_PATH, access_token, "deregister")

    # -- backfill --------------------------------------------------------------------------------

    def request_backfill(self, access_token: str, start: datetime,
                         end: datetime) -> list[BackfillResult]:
        """Ask Garmin to re-send activity notifications for [start, end), in 30-day chunks.

        Results arrive later as ordinary notifications. A 409 means Garmin will NOT send that
        range again (it was requested before): the caller decides what that means.
        """
        return [self.request_backfill_chunk(access_token, chunk_start, chunk_end)
                for chunk_start, chunk_end in backfill_chunks(start, end)]

    def request_backfill_chunk(self, access_token: str, start: datetime,
                               end: datetime) -> BackfillResult:
        """One backfill request (at most 30 days): 202 → accepted, 409 → duplicate."""
        params = {"summaryStartTimeInSeconds": int(start.timestamp()),
                  "summaryEndTimeInSeconds": int(end.timestamp())}
        try:
            self._api("GET", _BACKFILL_PATH, access_token, "backfill", params=params)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            return BackfillResult(start, end, True, str(exc))
        return BackfillResult(start, end, False)

    # -- callback downloads ----------------------------------------------------------------------

    def download_file(self, access_token: str, callback_url: str,
                      max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
        """Fetch an activityFiles callback once. Refuses foreign URLs before any request;
        410 → FileGone (use the stored copy); more than `max_bytes` → FileTooLarge."""
        url = _safe_callback_url(callback_url, self.api_url)
        headers = {"Authorization": f"Bearer {access_token}"}
        resp = _send("GET", url, "file download", headers=headers, stream=True)
        try:
            _raise_for_status(resp, "file download")
            return _read_capped(resp, max_bytes)
        finally:
            resp.close()

    def fetch_summaries(self, access_token: str, callback_url: str) -> list[ActivitySummary]:
        """Follow an `activities` ping's callback (a pull of summaries by upload time)."""
        url = _safe_callback_url(callback_url, self.api_url)
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        resp = _send("GET", url, "summaries", headers=headers)
        _raise_for_status(resp, "summaries")
        try:
            return parse_activities({"activities": _json(resp, "summaries")}).summaries
        except NotificationError as exc:
            raise ProviderError(f"garmin summaries: {exc}", permanent=True) from exc


def _oauth_error(resp: requests.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _read_capped(resp: requests.Response, max_bytes: int) -> bytes:
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FileTooLarge(max_bytes)  # refuse before reading a byte of the body
    chunks, total = [], 0
    try:
        for chunk in resp.iter_content(chunk_size=64 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise FileTooLarge(max_bytes)
            chunks.append(chunk)
    except OSError as exc:
        raise ProviderError(f"garmin file download: {type(exc).__name__}") from exc
    return b"".join(chunks)
