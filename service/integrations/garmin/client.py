"""Garmin Connect Developer Program: OAuth 2.0 + PKCE, user endpoints, backfill, one-time FIT
downloads.

Pure provider code: no Flask, no database. Every request goes through `service.infra.http.request`
(`responses.py` maps Garmin's answers to our errors; `callbacks.py` decides which callback URLs we
fetch). The parsers of what Garmin POSTs to us are in `notifications.py`; they never touch the
network: the receiver stores what they return and a job calls `GarminClient.download_file` later
(Garmin's ping times out after 30 s).

# Reference: ../shared/reference/apis.md §7 (Garmin Connect Developer Program, GARMIN-ACT v1.2.3)
# Reference: ../shared/reference/reliability.md §4 (Garmin inbound pitfalls), §5.1 (PKCE)
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from service.integrations.base import AuthRevoked, ProviderError, TokenSet
from service.integrations.garmin.callbacks import safe_callback_url
from service.integrations.garmin.notifications import (
    ActivitySummary,
    NotificationError,
    parse_activities,
)
from service.integrations.garmin.responses import (
    json_body,
    oauth_error,
    raise_for_status,
    read_capped,
    send,
)

if TYPE_CHECKING:
    import requests

# Reference: apis.md §7 "OAuth2 flow" and "Users" (documented production endpoints).
DEFAULT_API_URL = "https://apis.garmin.com"
DEFAULT_AUTH_URL = "https://connect.garmin.com/oauth2Confirm"
DEFAULT_TOKEN_URL = "https://diauth.garmin.com/di-oauth2-service/integrations/oauth/token"

REFRESH_MARGIN = timedelta(seconds=600)  # apis.md §7: "Refresh at least 600 s early."
BACKFILL_MAX_SPAN = timedelta(days=30)  # apis.md §7 Backfill: "At most 30 days per request."
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024  # a 24 h activity FIT is a few MB; this is a DoS cap

_USER_ID_PATH = "/wellness-api/rest/user/id"
_PERMISSIONS_PATH = "/wellness-api/rest/user/permissions"
_REGISTRATION_PATH = "/wellness-api/rest/user/registration"
_BACKFILL_PATH = "/wellness-api/rest/backfill/activities"


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
        resp = send("POST", self.token_url, what, data=form,
                     headers={"Accept": "application/json"})
        if resp.status_code in (400, 401) and oauth_error(resp) == "invalid_grant":
            # RFC 6749 §5.2: the code or refresh token is dead (used, expired, revoked, or a
            # wrong PKCE verifier). A dead refresh token means the connection needs re-consent.
            if form["grant_type"] == "refresh_token":
                raise AuthRevoked(f"garmin {what}: invalid_grant")
            raise ProviderError(f"garmin {what}: invalid_grant", permanent=True,
                                status=resp.status_code)
        if resp.status_code == 401:
            # A 401 from the token endpoint is our client credentials, not the user's grant.
            raise ProviderError(f"garmin {what}: client rejected", permanent=True, status=401)
        raise_for_status(resp, what)
        return self._token_set(json_body(resp, what), what)

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
        resp = send(method, self.api_url + path, what, headers=headers, **kwargs)
        raise_for_status(resp, what)
        return resp

    def get_user_id(self, access_token: str) -> str:
        """Garmin's stable user id (survives token changes and re-registration)."""
        body = json_body(self._api("GET", _USER_ID_PATH, access_token, "user id"), "user id")
        user_id = body.get("userId") if isinstance(body, dict) else None
        if not isinstance(user_id, str) or not user_id:
            raise ProviderError("garmin user id: no userId in response")
        return user_id

    def get_permissions(self, access_token: str) -> frozenset[str]:
        """What the user chose to share, e.g. {"ACTIVITY_EXPORT", "HEALTH_EXPORT"}."""
        body = json_body(self._api("GET", _PERMISSIONS_PATH, access_token, "permissions"),
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
        url = safe_callback_url(callback_url, self.api_url)
        headers = {"Authorization": f"Bearer {access_token}"}
        resp = send("GET", url, "file download", headers=headers, stream=True)
        try:
            raise_for_status(resp, "file download")
            return read_capped(resp, max_bytes)
        finally:
            resp.close()

    def fetch_summaries(self, access_token: str, callback_url: str) -> list[ActivitySummary]:
        """Follow an `activities` ping's callback (a pull of summaries by upload time)."""
        url = safe_callback_url(callback_url, self.api_url)
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        resp = send("GET", url, "summaries", headers=headers)
        raise_for_status(resp, "summaries")
        try:
            return parse_activities({"activities": json_body(resp, "summaries")}).summaries
        except NotificationError as exc:
            raise ProviderError(f"garmin summaries: {exc}", permanent=True) from exc
