"""Fixed-window rate limits per API key / runner and per client address, on the runtime's Redis.

Never on provider receivers (`/webhooks/*`: a 429 there loses events after Strava's 3 tries) or
health probes. A breach is a 429 in the one error shape with `Retry-After`. If Redis is down the
request goes through: the limiter protects capacity, it must not take the API down with it.

Limits come from `KNEEGUARD_RATE_LIMITS` (Settings → `app.config["RATE_LIMITS"]`, requests per
window), e.g. `{"key": 5, "address": 10, "login": 2, "window_s": 60}`.

Behind a reverse proxy set `KNEEGUARD_TRUST_PROXY=true` (werkzeug's ProxyFix), so `remote_addr` is
the client's.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, g, request

from service.errors import ApiError

log = logging.getLogger(__name__)
bp = Blueprint("ratelimit", __name__)

DEFAULTS = {"key": 600, "address": 1200, "login": 20, "window_s": 60}
EXEMPT_PREFIXES = ("/webhooks/", "/healthz", "/readyz", "/metrics", "/web-static/",
                   "/docs/static/")
LOGIN_PATHS = ("/login", "/connect/")


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"


def limits() -> dict:
    return {**DEFAULTS, **current_app.config.get("RATE_LIMITS", {})}


@bp.before_app_request
def _limit() -> None:
    path = request.path
    if path.startswith(EXEMPT_PREFIXES) or path == "/webhooks":
        return
    cfg = limits()
    window = int(cfg["window_s"])
    checks = [(f"addr:{request.remote_addr or '-'}", int(cfg["address"]))]
    if path.startswith(LOGIN_PATHS):
        checks.append((f"login:{request.remote_addr or '-'}", int(cfg["login"])))
    identity = _identity()
    if identity:
        checks.append((identity, int(cfg["key"])))
    for name, limit in checks:
        _check(name, limit, window)


@bp.after_app_request
def _headers(response):
    info = g.get("_rate")
    if info is not None:
        limit, remaining, reset = info
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(max(remaining, 0))
        response.headers["X-RateLimit-Reset"] = str(reset)
        if response.status_code == 429:
            response.headers["Retry-After"] = str(reset)
    return response


def _identity() -> str | None:
    # Count per credential without a database lookup: a hash of the presented credential, so a
    # flood of invalid keys is limited too (by address, and per bogus key).
    from service.domain.accounts import hash_token
    from service.web.auth import current_principal

    header = request.headers.get("Authorization", "")
    if header:
        return "cred:" + hash_token(header)[:32]
    try:
        return current_principal().rate_identity
    except ApiError:
        return None


def _check(name: str, limit: int, window: int) -> None:
    now = int(time.time())
    bucket = now // window
    key = f"kneeguard:rl:{name}:{bucket}"
    try:
        redis = current_app.extensions["kneeguard"].queue.redis
        pipe = redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        count = int(pipe.execute()[0])
    except Exception as exc:  # fail open: see the module docstring
        log.warning("rate limiter unavailable", extra={"error": type(exc).__name__})
        return
    reset = (bucket + 1) * window - now
    if g.get("_rate") is None or limit - count < g._rate[1]:
        g._rate = (limit, limit - count, reset)
    if count > limit:
        raise RateLimited(f"Too many requests; retry in {reset} s.", details={"retry_after": reset})

