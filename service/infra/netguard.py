"""SSRF guard for user-supplied URLs (integrator webhook endpoints).

`check_url` is the registration-time and send-time check: scheme, shape, then *every* address the
name resolves to must be globally routable. `guarded_post` re-checks, then connects to the checked
address itself (pinned), so a DNS answer that changes between check and connect (rebinding) cannot
move the request. Redirects are never followed and the response read is capped.

Private networks are refused unless the operator lists them (WEBHOOK_ALLOW_NETWORKS, default none):
an allowlist of ranges opens only those ranges, never loopback (its own switch), link-local (cloud
metadata), multicast or the unspecified address, and never an address embedded in a NAT64/6to4 one.

Why not `ip.is_private` alone: on Python 3.11 `100.64.0.1` is not private and `::ffff:127.0.0.1`
is not loopback (reference/reliability.md §0.9, §5.3), and multicast counts as "global".
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from service.infra import http

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
Networks = Sequence[IPNetwork]

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

# Ranges refused even where Python calls them global (or did on older 3.11 patch releases,
# cpython#113171).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
        "::/96",  # deprecated IPv4-compatible (::127.0.0.1)
        "::ffff:0:0:0/96",  # SIIT IPv4-translated
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)

# Ranges an allowlist may not open: loopback has its own setting (WEBHOOK_ALLOW_LOOPBACK); the others
# are never a webhook receiver (169.254.169.254 is the cloud metadata service).
NEVER_ALLOWABLE = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3",
              "::/127", "::ffff:0:0/96", "fe80::/10", "ff00::/8")
)


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """`10.20.0.0/16, fd00:1::/64` → networks; ValueError naming the entry that cannot be allowed."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            net = ipaddress.ip_network(item, strict=True)
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a network in CIDR form ({exc})") from None
        clash = next((n for n in NEVER_ALLOWABLE if n.version == net.version and net.overlaps(n)), None)
        if clash is not None:
            raise ValueError(f"{item} overlaps {clash}, which an allowlist cannot open")
        networks.append(net)
    return tuple(networks)


# Hosts made only of digits, hex and dots are legacy inet_aton forms (2130706433, 0177.0.0.1,
# 0x7f.1, 127.1) unless they are a canonical dotted quad.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.IGNORECASE)
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UnsafeURL(ValueError):
    """The URL may not be contacted. `reason` is a short, user-presentable explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnresolvableURL(UnsafeURL):
    """The host did not resolve. Refused at registration; a transient failure at send time."""


class TransportError(Exception):
    """The request was allowed but failed on the wire (`kind`: timeout, connect, tls, protocol)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class ResolvedTarget:
    url: str
    scheme: str
    host: str  # as it must appear in Host/SNI (IDNA-encoded, lower case, no brackets)
    port: int
    addresses: tuple[str, ...]  # every resolved address; all passed the check
    ip: str  # the address the connection is pinned to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


@dataclass(frozen=True)
class GuardedResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body_prefix: bytes  # at most max_response_bytes
    duration_ms: int
    truncated: bool  # the body was longer than the cap (or the read deadline passed)
    ip: str  # the address actually contacted
    read_error: str | None = None  # the body read failed part-way (status is still valid)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos if info[0] in (socket.AF_INET,
                                                                          socket.AF_INET6)]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or well-known-prefix NAT64 address leads to."""
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_refusal(ip: IPAddress, allow_loopback: bool = False,
                    allow_networks: Networks = ()) -> str | None:
    """Why this address may not be contacted, or None when it may (`allow_networks`: private
    ranges the operator opened; see NEVER_ALLOWABLE)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        # A DNS64 network answers 64:ff9b::<v4> for every v4-only host, so judge the v4 inside;
        # never let loopback through a translator.
        reason = address_refusal(inner, allow_loopback=False)
        return None if reason is None else f"{reason} embedded in {ip}"
    if ip.is_loopback:
        return None if allow_loopback else "loopback address"
    never = (
        (ip.is_unspecified, "unspecified address"),
        (ip.is_link_local, "link-local address (includes cloud metadata)"),
        (ip.is_multicast, "multicast address"),
    )
    if reason := next((reason for refused, reason in never if refused), None):
        return reason
    if any(ip in net for net in allow_networks if net.version == ip.version):
        return None  # the operator's own network (WEBHOOK_ALLOW_NETWORKS)
    checks = (
        (ip.is_private, "private address"),
        (ip.is_reserved, "reserved address"),
        (any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version),
         "special-purpose address"),
        (not ip.is_global, "non-global address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def check_url(url: str, allow_loopback: bool = False,
              resolver: Resolver | None = None, allow_networks: Networks = ()) -> ResolvedTarget:
    """Validate `url` and resolve it; raise UnsafeURL unless every address is acceptable."""
    scheme, host, port = _parse(url)
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        addresses = _resolve(host, port, resolver or system_resolver)
    for ip in addresses:
        reason = address_refusal(ip, allow_loopback, allow_networks)
        if reason is not None:
            where = f"{host} is" if literal is not None else f"{host} resolves to {ip}:"
            raise UnsafeURL(f"{where} a {reason}")
    pinned = addresses[0]
    if isinstance(pinned, ipaddress.IPv6Address) and pinned.ipv4_mapped is not None:
        pinned = pinned.ipv4_mapped
    return ResolvedTarget(url=url, scheme=scheme, host=host, port=port,
                          addresses=tuple(str(a) for a in addresses), ip=str(pinned))


def _parse(url: str) -> tuple[str, str, int]:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeURL("URL missing or too long")
    if _FORBIDDEN_CHARS.search(url):
        # Whitespace, control characters and backslashes are parsed differently by different
        # URL parsers (the classic `http://good\@evil/` split), so none are accepted.
        raise UnsafeURL("URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL("only http and https URLs are allowed")
    if "@" in parts.netloc or parts.username is not None:
        raise UnsafeURL("credentials (userinfo) in the URL are not allowed")
    if port == 0:
        raise UnsafeURL("port 0 is not allowed")
    host = _normalise_host(parts.hostname or "")
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def _normalise_host(host: str) -> str:
    if not host:
        raise UnsafeURL("URL has no host")
    if "%" in host:
        raise UnsafeURL("IPv6 zone identifiers are not allowed")
    if ":" in host:
        return host  # IPv6 literal; validated by _ip_literal
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURL("host name is not a valid (IDNA) name") from None
    numeric = bool(_NUMERIC_HOST.match(ascii_host))
    if numeric and (not _is_dotted_quad(ascii_host) or not host.isascii()):
        # Unicode digits and dots (①②⑦。0。0。1) fold to an address under IDNA: refuse the
        # spelling, like the decimal and octal ones.
        raise UnsafeURL("non-canonical numeric IPv4 host (decimal/octal/hex forms)")
    return ascii_host


def _is_dotted_quad(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and str(int(p)) == p and int(p) < 256
                                   for p in parts)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        if ":" in host:
            raise UnsafeURL("malformed IPv6 literal") from None
        return None


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        raw = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableURL(f"{host} does not resolve ({exc})") from None
    addresses: list[IPAddress] = []
    for text in raw:
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            raise UnsafeURL(f"{host} resolved to a malformed address") from None
    if not addresses:
        raise UnresolvableURL(f"{host} has no address")
    return addresses


def guarded_post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_loopback: bool = False,
    timeout: tuple[float, float] = http.WEBHOOK_TIMEOUT,
    max_response_bytes: int = 64 * 1024,
    resolver: Resolver | None = None,
    verify: bool | str = True,
    allow_networks: Networks = (),
) -> GuardedResponse:
    """POST `body` to a user URL: check, pin, no redirects, capped read.

    Raises UnsafeURL before any connection is made, TransportError when the wire fails.
    A 3xx comes back as a normal response (the caller treats it as a failed attempt)."""
    target = check_url(url, allow_loopback=allow_loopback, resolver=resolver,
                       allow_networks=allow_networks)
    send_headers = {**headers, "Accept-Encoding": "identity"}  # cap applies to wire bytes
    started = time.monotonic()
    with http.pinned_session(target.host, target.port, target.ip) as session:
        try:
            resp = session.post(url, data=body, headers=send_headers, timeout=timeout,
                                allow_redirects=False, stream=True, verify=verify)
        except requests.RequestException as exc:
            raise _transport_error(exc) from None
        with resp:
            prefix, truncated, read_error = _read_capped(resp, max_response_bytes,
                                                         started + sum(timeout))
    return GuardedResponse(
        status=resp.status_code,
        headers={k.lower(): v for k, v in resp.headers.items()},
        body_prefix=prefix,
        duration_ms=int((time.monotonic() - started) * 1000),
        truncated=truncated,
        ip=target.ip,
        read_error=read_error,
    )


def _read_capped(resp: requests.Response, cap: int,
                 deadline: float) -> tuple[bytes, bool, str | None]:
    """Read at most `cap` bytes; a slow-drip body is cut at `deadline` too."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < cap:
            if time.monotonic() > deadline:
                return b"".join(chunks), True, "read deadline passed"
            chunk = resp.raw.read(min(65536, cap - size), decode_content=False)
            if not chunk:
                return b"".join(chunks), False, None
            chunks.append(chunk)
            size += len(chunk)
        more = resp.raw.read(1, decode_content=False)
    except Exception as exc:
        # A receiver that resets or stalls mid-body still gave us a status; keep what was read.
        return b"".join(chunks), True, f"{type(exc).__name__}: {exc}"
    return b"".join(chunks), bool(more), None


def _transport_error(exc: requests.RequestException) -> TransportError:
    if isinstance(exc, requests.Timeout):
        return TransportError("timeout", str(exc))
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError("tls", str(exc))
    if isinstance(exc, requests.ConnectionError):
        return TransportError("connect", str(exc))
    return TransportError("protocol", str(exc))
