"""Limits on mail a signed-in runner can make us send to an address they typed (the email
confirmation): per account and per address, in fixed windows on the runtime's Redis.

An account over its limit gets a 429 (its own actions; Retry-After says when). An address over
its limit is simply not mailed again in the window, with the same answer as ever: a 429 there
would tell the runner something about an address that may not be theirs. Without Redis the
limits are not applied (like service.web.ratelimit: they protect capacity and inboxes, they must
not take the page down).

Configured with `KNEEGUARD_RATE_LIMITS` keys `email_account`, `email_address` (mails per
window) and `email_window_s`.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, g

from service.domain.accounts import hash_token
from service.web.ratelimit import RateLimited

log = logging.getLogger(__name__)
DEFAULTS = {"email_account": 5, "email_address": 3, "email_window_s": 3600}


def _limits() -> dict:
    return {**DEFAULTS, **current_app.config.get("RATE_LIMITS", {})}


def _count(rt, name: str, window: int) -> tuple[int, int] | None:
    """(count in this window including this one, seconds to the window's end); None: no Redis."""
    now = int(time.time())
    bucket = now // window
    key = f"kneeguard:mail:{name}:{bucket}"
    try:
        pipe = rt.queue.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        return int(pipe.execute()[0]), (bucket + 1) * window - now
    except Exception as exc:  # fail open: see the module docstring
        log.warning("mail limiter unavailable", extra={"error": type(exc).__name__})
        return None


def charge_account(rt, athlete_id: str) -> None:
    cfg = _limits()
    counted = _count(rt, f"account:{athlete_id}", int(cfg["email_window_s"]))
    if counted is None:
        return
    count, reset = counted
    limit = int(cfg["email_account"])
    if count > limit:
        g._rate = (limit, 0, reset)  # service.web.ratelimit adds Retry-After to the 429
        raise RateLimited(f"Too many confirmation emails; try again in {reset // 60 + 1} "
                          "minutes.", details={"retry_after": reset})


def charge_address(rt, address: str) -> bool:
    """True when this address may be mailed now."""
    cfg = _limits()
    counted = _count(rt, f"address:{hash_token(address)[:32]}", int(cfg["email_window_s"]))
    if counted is None:
        return True
    if counted[0] > int(cfg["email_address"]):
        log.info("confirmation email withheld: address limit", extra={"limit": "address"})
        return False
    return True
