"""Garmin Connect Developer Program: OAuth 2.0 + PKCE, user endpoints, backfill, one-time FIT
downloads, and parsers for the notifications Garmin POSTs to us.

Pure provider code: no Flask, no database. Every request goes through `service.http.request`.
Notification parsers never touch the network; the receiver stores what they return and a job calls
`GarminClient.download_file` later (Garmin's ping times out after 30 s).

# Reference: ../shared/reference/apis.md §7 (Garmin Connect Developer Program, GARMIN-ACT v1.2.3)
# Reference: ../shared/reference/reliability.md §4 (Garmin inbound pitfalls), §5.1 (PKCE)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from service import http
from service.providers.base import (
    AuthRevoked,
    ProviderError,
    RateLimited,
    RemoteActivity,
    TokenSet,
)

if TYPE_CHECKING:
    import requests

# Reference: apis.md §7 "OAuth2 flow" and "Users" (documented production endpoints).
DEFAULT_API_URL = "https://apis.garmin.com"
DEFAULT_AUTH_URL = "https://connect.garmin.com/oauth2Confirm"
DEFAULT_TOKEN_URL = "https://diauth.garmin.com/di-oauth2-service/oauth/token"

REFRESH_MARGIN = timedelta(seconds=600)  # apis.md §7: "Refresh at least 600 s early."
BACKFILL_MAX_SPAN = timedelta(days=30)  # apis.md §7 Backfill: "At most 30 days per request."
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024  # a 24 h activity FIT is a few MB; this is a DoS cap
DEFAULT_RETRY_AFTER = 60.0  # Garmin documents no Retry-After; back off a minute when it is absent
ACTIVITY_EXPORT = "ACTIVITY_EXPORT"

_USER_ID_PATH = "/wellness-api/rest/user/id"
_PERMISSIONS_PATH = "/wellness-api/rest/user/permissions"
_REGISTRATION_PATH = "/wellness-api/rest/user/registration"
_BACKFILL_PATH = "/wellness-api/rest/backfill/activities"


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
    duplicate: bool  # Garmin answered 409: this exact range was already requested


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
    """401 → AuthRevoked, 429 → RateLimited, 5xx → transient, any other non-2xx → permanent."""
    status = resp.status_code
    if 200 <= status < 300:
        return
    if status == 401:
        raise AuthRevoked(f"garmin {what}: 401 unauthorized")
    if status == 429:
        raise RateLimited(f"garmin {what}: rate limited", retry_after=_retry_after(resp))
    if status == 410:
        raise FileGone(f"garmin {what}: 410 gone")
    permanent = status < 500  # 3xx included: we never follow redirects from a provider
    raise ProviderError(f"garmin {what}: HTTP {status}", permanent=permanent, status=status)


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
            expires_in = float(body.get("expires_in", 86400))
            return TokenSet(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_at=self._now() + timedelta(seconds=expires_in),
                scopes=frozenset(str(body.get("scope") or "").split()),
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

        Results arrive later as ordinary notifications. A 409 (range already requested) counts as
        done, so after a RateLimited/transient error the whole call can simply be retried.
        """
        results = []
        for chunk_start, chunk_end in backfill_chunks(start, end):
            params = {"summaryStartTimeInSeconds": int(chunk_start.timestamp()),
                      "summaryEndTimeInSeconds": int(chunk_end.timestamp())}
            try:
                self._api("GET", _BACKFILL_PATH, access_token, "backfill", params=params)
                duplicate = False
            except ProviderError as exc:
                if exc.status != 409:
                    raise
                duplicate = True
            results.append(BackfillResult(chunk_start, chunk_end, duplicate))
        return results

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


# ---------------------------------------------------------------------------------------------
# Notification parsers (pure). Reference: apis.md §7 "Delivery models", "activityFiles", "Users".
# ---------------------------------------------------------------------------------------------


class NotificationError(ValueError):
    """The body is not a notification of the expected kind; the receiver answers 400."""


def is_from_our_app(client_id_header: str | None, client_id: str) -> bool:
    """Garmin signs nothing; its notifications carry only a `garmin-client-id` header. Checking it
    filters stray traffic, not forgery: the body stays a hint (callback origin check, re-fetch).
    # Reference: reliability.md §4 "verify the client id and allowlist the callbackURL host"
    """
    if not client_id_header or not client_id:
        return False
    return hmac.compare_digest(client_id_header.encode(), client_id.encode())


_Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
_EpochSeconds = Annotated[int, Field(ge=0, le=4_102_444_800)]  # 1970..2100: fromtimestamp-safe


class _Model(BaseModel):
    # Garmin adds fields over time and older payloads carry userAccessToken: ignore what we do
    # not model instead of rejecting a notification Garmin would then retry forever.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True,
                              extra="ignore", coerce_numbers_to_str=True)


class SummaryPing(_Model):
    """An `activities` ping: no data inline, only a pull URL (by upload time)."""

    user_id: _Id
    callback_url: str = Field(alias="callbackURL", max_length=4096)


class ActivitySummary(_Model):
    """An activity summary (push body item, pull response item, or activityDetails' summary)."""

    model_config = ConfigDict(extra="allow")  # keep every field for RemoteActivity.raw

    user_id: _Id | None = None
    summary_id: _Id
    activity_id: int | None = None
    activity_name: str | None = None
    activity_type: str | None = None
    start_time_in_seconds: _EpochSeconds
    start_time_offset_in_seconds: int = 0  # device display offset, not a time zone (§7 fields)
    duration_in_seconds: float | None = None
    distance_in_meters: float | None = None
    total_elevation_gain_in_meters: float | None = None
    total_elevation_loss_in_meters: float | None = None
    starting_latitude_in_degree: float | None = None
    device_name: str | None = None
    manual: bool = False
    is_web_upload: bool = False
    is_parent: bool = False
    parent_summary_id: str | None = None

    @property
    def provider_id(self) -> str:
        return _provider_id(self.activity_id, self.summary_id)

    @property
    def start_time(self) -> datetime:
        return datetime.fromtimestamp(self.start_time_in_seconds, UTC)


class ActivityFileNotice(_Model):
    """One `activityFiles` ping item: a FIT/TCX/GPX file to fetch once from `callback_url`."""

    user_id: _Id
    summary_id: _Id
    file_type: str = Field(max_length=16)
    callback_url: str = Field(alias="callbackURL", max_length=4096)
    start_time_in_seconds: _EpochSeconds
    activity_id: int | None = None
    activity_type: str | None = None
    activity_name: str | None = None
    device_name: str | None = None
    manual: bool = False

    @property
    def provider_id(self) -> str:
        """Same key as the matching ActivitySummary.provider_id (the file's summaryId ends in
        '-file', the summary's does not)."""
        return _provider_id(self.activity_id, self.summary_id)

    @property
    def dedupe_key(self) -> str:
        return f"garmin:activityFiles:{self.user_id}:{self.summary_id}"


class Deregistration(_Model):
    user_id: _Id


class PermissionChange(_Model):
    user_id: _Id
    summary_id: str | None = None
    permissions: frozenset[str] = frozenset()
    change_time_in_seconds: _EpochSeconds | None = None

    @property
    def allows_activity_export(self) -> bool:
        return ACTIVITY_EXPORT in self.permissions


_M = TypeVar("_M", bound=_Model)


@dataclass(frozen=True, slots=True)
class ActivitiesNotification:
    pings: list[SummaryPing]
    summaries: list[ActivitySummary]


def _provider_id(activity_id: int | None, summary_id: str) -> str:
    if activity_id is not None:
        return str(activity_id)
    for suffix in ("-file", "-detail"):
        summary_id = summary_id.removesuffix(suffix)
    return summary_id


def _items(body: bytes | str | Mapping[str, Any], *keys: str) -> list[Any]:
    """The list under the first of `keys` present in a JSON object body."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise NotificationError("body is not JSON") from exc
    if not isinstance(body, Mapping):
        raise NotificationError("body is not a JSON object")
    for key in keys:
        if key in body:
            if not isinstance(body[key], list):
                raise NotificationError(f"{key!r} is not a list")
            return body[key]
    raise NotificationError(f"expected one of {', '.join(keys)}")


def _validate(model: type[_M], items: list[Any]) -> list[_M]:
    try:
        return TypeAdapter(list[model]).validate_python(items)  # type: ignore[valid-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NotificationError(f"invalid item at {where}: {first['msg']}") from exc


def parse_activities(body: bytes | str | Mapping[str, Any]) -> ActivitiesNotification:
    """`activities` / `manuallyUpdatedActivities`: pings (callbackURL only) or pushed summaries."""
    items = _items(body, "activities", "manuallyUpdatedActivities")
    pushed = [i for i in items if isinstance(i, Mapping) and "summaryId" in i]
    pings = [i for i in items if not (isinstance(i, Mapping) and "summaryId" in i)]
    return ActivitiesNotification(_validate(SummaryPing, pings),
                                  _validate(ActivitySummary, pushed))


def parse_activity_details(body: bytes | str | Mapping[str, Any]) -> list[ActivitySummary]:
    """`activityDetails` push: only the nested summary is kept (samples are not used here)."""
    merged = []
    for item in _items(body, "activityDetails"):
        if not isinstance(item, Mapping) or not isinstance(item.get("summary"), Mapping):
            raise NotificationError("activityDetails item without a summary object")
        top = {k: item[k] for k in ("userId", "summaryId", "activityId") if k in item}
        merged.append({**item["summary"], **top})
    return _validate(ActivitySummary, merged)


def parse_activity_files(body: bytes | str | Mapping[str, Any]) -> list[ActivityFileNotice]:
    return _validate(ActivityFileNotice, _items(body, "activityFiles"))


def parse_deregistrations(body: bytes | str | Mapping[str, Any]) -> list[Deregistration]:
    return _validate(Deregistration, _items(body, "deregistrations"))


def parse_permission_changes(body: bytes | str | Mapping[str, Any]) -> list[PermissionChange]:
    return _validate(PermissionChange, _items(body, "userPermissionsChange"))


# Reference: GARMIN-ACT Appendix A (running types); FIT sub_sport names where one exists.
_RUNNING_SUB_SPORTS: dict[str, str | None] = {
    "RUNNING": None, "STREET_RUNNING": "street", "TRACK_RUNNING": "track",
    "TRAIL_RUNNING": "trail", "TREADMILL_RUNNING": "treadmill", "INDOOR_RUNNING": "indoor",
    "VIRTUAL_RUN": "virtual", "ULTRA_RUN": "ultra", "OBSTACLE_RUN": "obstacle",
}
_NO_GPS_SUB_SPORTS = {"treadmill", "indoor", "virtual"}
_SPORT_WORDS = (("RUN", "running"), ("CYCL", "cycling"), ("BIK", "cycling"),
                ("WALK", "walking"), ("HIK", "hiking"), ("SWIM", "swimming"))


def garmin_sport(activity_type: str | None) -> tuple[str | None, str | None]:
    """(sport, sub_sport) for a Garmin activityType, normalised like the FIT parser's."""
    if not activity_type:
        return None, None
    kind = activity_type.upper()
    if kind in _RUNNING_SUB_SPORTS:
        return "running", _RUNNING_SUB_SPORTS[kind]
    for word, sport in _SPORT_WORDS:
        if word in kind:
            return sport, None
    return kind.lower(), None


def summary_to_remote_activity(summary: ActivitySummary) -> RemoteActivity:
    sport, sub_sport = garmin_sport(summary.activity_type)
    no_gps = summary.manual or sub_sport in _NO_GPS_SUB_SPORTS
    return RemoteActivity(
        provider_id=summary.provider_id,
        start_time=summary.start_time,
        sport=sport,
        sub_sport=sub_sport,
        name=summary.activity_name,
        distance_m=summary.distance_in_meters,
        moving_time_s=summary.duration_in_seconds,
        elevation_gain_m=summary.total_elevation_gain_in_meters,
        elevation_loss_m=summary.total_elevation_loss_in_meters,
        manual=summary.manual,
        has_gps=not no_gps and summary.starting_latitude_in_degree is not None,
        raw=summary.model_dump(by_alias=True, exclude_unset=True),
    )
