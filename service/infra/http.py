"""The one outbound HTTP seam.

Every request kneeguard makes (Strava, Garmin, integrator webhooks) goes through `request()` here,
so timeouts, the User-Agent and redirect policy are set in one place and tests fake exactly this
seam (by pointing base URLs at loopback servers). User-supplied URLs (integrator webhooks) go
through `service.infra.netguard.guarded_post`, which checks the address and uses `pinned_session()`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "kneeguard/0.1 (+https://github.com/kneeguard)"
PROVIDER_TIMEOUT = (5.0, 10.0)  # (connect, read) seconds
WEBHOOK_TIMEOUT = (5.0, 15.0)
DEFAULT_PORTS = {"http": 80, "https": 443}

_session: requests.Session | None = None


def session() -> requests.Session:
    """A shared connection pool, created lazily (nothing connects at import)."""
    global _session
    if _session is None:
        s = requests.Session()
        s.headers["User-Agent"] = USER_AGENT
        _session = s
    return _session


def request(
    method: str,
    url: str,
    *,
    timeout: tuple[float, float] | float = PROVIDER_TIMEOUT,
    allow_redirects: bool = False,
    **kwargs,
) -> requests.Response:
    """Send one request. Redirects are off by default: a provider never needs them and a user URL
    must never be allowed to bounce us elsewhere."""
    return session().request(
        method, url, timeout=timeout, allow_redirects=allow_redirects, **kwargs
    )


class PinnedAdapter(HTTPAdapter):
    """Connects to one already-checked IP address whatever the URL's host resolves to now.

    The URL keeps its host name, so the Host header, TLS SNI and certificate checks use the name,
    while the socket goes to `ip` (the address the SSRF guard approved). Requests for any other
    host or port are refused, so the adapter cannot be pointed elsewhere by accident."""

    def __init__(self, host: str, port: int, ip: str) -> None:
        super().__init__(max_retries=0)
        self._host, self._port, self._ip = host.lower(), port, ip

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host = (host_params["host"] or "").lower().strip("[]")
        # requests leaves the port None when the URL has none (as nearly every real integrator
        # URL): that is the scheme's default port, not a different target.
        port = host_params["port"] or DEFAULT_PORTS.get(host_params["scheme"])
        if host != self._host.strip("[]") or port != self._port:
            raise requests.exceptions.InvalidURL(f"pinned session for {self._host}:{self._port}")
        if host_params["scheme"] == "https":
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        host_params["host"] = f"[{self._ip}]" if ":" in self._ip else self._ip
        host_params["port"] = port
        return host_params, pool_kwargs

    def send(self, request, *args, **kwargs):
        # urllib3 would derive Host from the pool's host, which is now the IP.
        parts = urlsplit(request.url)
        default = 443 if parts.scheme == "https" else 80
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        port = parts.port or default
        request.headers["Host"] = host if port == default else f"{host}:{port}"
        return super().send(request, *args, **kwargs)

    def get_connection(self, url, proxies=None):
        # The deprecated path would bypass the pin; requests >= 2.32.2 never calls it.
        raise NotImplementedError("PinnedAdapter only supports get_connection_with_tls_context")


class _NoRedirectSession(requests.Session):
    """Never follows a redirect, whatever the caller passes (a 3xx is returned as is)."""

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


def pinned_session(host: str, port: int, ip: str) -> requests.Session:
    """A one-off session whose every connection goes to `ip` (see PinnedAdapter).

    Separate from the shared pool on purpose: the pin is per request, and environment proxies
    are ignored because a proxy would resolve the name again and defeat the pin."""
    s = _NoRedirectSession()
    s.headers["User-Agent"] = USER_AGENT
    s.trust_env = False
    adapter = PinnedAdapter(host, port, ip)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s
