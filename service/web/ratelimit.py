"""Fixed-window rate limits per API key / runner and per client address, on the runtime's Redis.

Never on provider receivers (`/webhooks/*`: a 429 there loses events after Strava's 3 tries) or
health probes. A breach is a 429 in the one error shape with `Retry-After`. If Redis is down the
request goes through: the limiter protects capacity, it must not take the API down with it.

Sign-in (`login`) counts failures only, per address and per credential: a wrong token or key on
the /login form, and an OAuth callback that fails (refused state, denied consent). Page views and
successful OAuth round trips do not count, so a club behind one Wi-Fi address can all connect in
the same minute, while guessing tokens stays limited.

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
CALLBACK_PREFIX = "/connect/"  # /connect/<provider>/callback: a failed one counts against sign-in


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
    if _is_callback(path):
        refuse_if_failing(None)
    identity = _identity()
    if identity:
        checks.append((identity, int(cfg["key"])))
    for name, limit in checks:
        _check(name, limit, window)


def _is_callback(path: str) -> bool:
    return path.startswith(CALLBACK_PREFIX) and path.endswith("/callback")


def _failure_keys(credential: str | None) -> list[str]:
    from service.domain.accounts import hash_token

    keys = [f"login-fail:addr:{request.remote_addr or '-'}"]
    if credential:
        keys.append("login-fail:cred:" + hash_token(credential)[:32])
    return keys


def refuse_if_failing(credential: str | None) -> None:
    """429 before trying a sign-in when this address (or this credential) has failed too often in
    the current window."""
    cfg = limits()
    window, limit = int(cfg["window_s"]), int(cfg["login"])
    bucket, now = int(time.time()) // window, int(time.time())
    for name in _failure_keys(credential):
        try:
            count = int(_redis().get(f"kneeguard:rl:{name}:{bucket}") or 0)
        except Exception as exc:  # fail open: see the module docstring
            log.warning("rate limiter unavailable", extra={"error": type(exc).__name__})
            return
        if count >= limit:
            reset = (bucket + 1) * window - now
            g._rate = (limit, 0, reset)
            raise RateLimited(f"Too many failed sign-ins; retry in {reset} s.",
                              details={"retry_after": reset})


def sign_in_failed(credential: str | None) -> None:
    """Count one failed sign-in against this address and the credential tried."""
    window = int(limits()["window_s"])
    bucket = int(time.time()) // window
    try:
        pipe = _redis().pipeline()
        for name in _failure_keys(credential):
            pipe.incr(f"kneeguard:rl:{name}:{bucket}")
            pipe.expire(f"kneeguard:rl:{name}:{bucket}", window + 5)
        pipe.execute()
    except Exception as exc:
        log.warning("rate limiter unavailable", extra={"error": type(exc).__name__})


def _redis():
    return current_app.extensions["kneeguard"].queue.redis


@bp.after_app_request
def _count_failed_callback(response):
    if response.status_code >= 400 and response.status_code != 429 and _is_callback(request.path):
        sign_in_failed(None)
    return response


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
        pipe = _redis().pipeline()
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

