"""Which callback URLs from Garmin's notifications we fetch: exactly the configured API origin.
Notifications are unsigned, so a forged one could otherwise make us fetch (and send a token to) any
URL. Pure: no network.

# Reference: ../shared/reference/reliability.md §4 (allowlist the callbackURL host)
"""

from __future__ import annotations

import re
import string
from urllib.parse import urlsplit

from service.infra.redact import redact
from service.integrations.base import ProviderError


class CallbackRefused(ProviderError):
    """A notification's callback URL is not on the configured Garmin API origin. Notifications are
    unsigned, so a forged one could otherwise make us fetch (and send a token to) any URL."""

    def __init__(self, url: str) -> None:
        # The URL's query carries a download token: redacted, as it is stored in last_error.
        super().__init__(f"callback URL not on the Garmin API host: {redact(url[:200])!r}",
                         permanent=True)


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


def safe_callback_url(url: str, api_url: str) -> str:
    """The URL we actually request: the configured origin plus the callback's path and query, so
    no parser difference between this check and the HTTP library can send us elsewhere."""
    if not is_allowed_callback(url, api_url):
        raise CallbackRefused(url)
    parts, base = urlsplit(url), urlsplit(api_url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base.scheme}://{base.netloc}{parts.path or '/'}{query}"
