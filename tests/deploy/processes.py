"""Waiting on real processes without a fixed sleep."""

from __future__ import annotations

import time


def pings(r) -> bool:
    try:
        return bool(r.ping())
    except Exception:
        return False


def wait_for(predicate, what: str, cap_s: float = 60) -> None:
    deadline = time.monotonic() + cap_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)
