"""Garmin's HTTP answers: one request through the outbound seam, and every status mapped to our
errors as Garmin's Appendix B describes them (GARMIN-ACT v1.2.3). Used by the client only.

# Reference: ../shared/reference/apis.md §7 (Appendix B errors, Retry-After not documented)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.infra import http
from service.integrations.base import AuthRevoked, ProviderError, RateLimited

if TYPE_CHECKING:
    import requests

DEFAULT_RETRY_AFTER = 60.0  # Garmin documents no Retry-After; back off a minute when it is absent


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


def retry_after(resp: requests.Response) -> float:
    try:
        seconds = float(resp.headers.get("Retry-After", ""))
    except ValueError:  # absent, or an HTTP-date: wait the default
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), 3600.0) if seconds == seconds else DEFAULT_RETRY_AFTER  # NaN


def raise_for_status(resp: requests.Response, what: str) -> None:
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
        raise RateLimited(f"garmin {what}: rate limited", retry_after=retry_after(resp))
    if status == 410:
        raise FileGone(f"garmin {what}: 410 gone")
    permanent = status < 500  # 3xx included: we never follow redirects from a provider
    said = error_message(resp)
    raise ProviderError(f"garmin {what}: HTTP {status}" + (f": {said}" if said else ""),
                        permanent=permanent, status=status)


def error_message(resp: requests.Response) -> str | None:
    """Appendix B: error bodies are `{"errorMessage": "..."}`; kept short, never trusted."""
    try:
        body = resp.json()
    except ValueError:
        return None
    said = body.get("errorMessage") if isinstance(body, dict) else None
    return str(said)[:200] if said else None


def send(method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
    """One request through the seam; network failures become transient ProviderErrors."""
    try:
        return http.request(method, url, **kwargs)
    except OSError as exc:  # requests.RequestException derives from IOError
        raise ProviderError(f"garmin {what}: {type(exc).__name__}", permanent=False) from exc


def json_body(resp: requests.Response, what: str) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise ProviderError(f"garmin {what}: response is not JSON",
                            status=resp.status_code) from exc


def oauth_error(resp: requests.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def read_capped(resp: requests.Response, max_bytes: int) -> bytes:
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
