"""Errors that may pass on retry (a dropped connection, a serialization failure, a lock timeout,
Redis unavailable) versus errors that will not (a bad file, a rule bug).

Jobs retry transient errors in place with exponential backoff; when they persist, the row stays
pending and the sweeper offers it again next round. Only after many rounds (a counter in Redis) is a
"transient" error treated as permanent, so a misclassified bug cannot loop forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis.exceptions
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_S = (0.2, 0.5, 1.0, 2.0)  # in-job retries; the sweep interval is the next step
MAX_ROUNDS = 20  # sweeper rounds a row may fail transiently before it is marked failed
# PostgreSQL SQLSTATEs that change on retry: serialization failure, deadlock, lock not available,
# query canceled (statement/lock timeout), admin shutdown / crash / cannot connect now.
RETRY_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                        sa_exc.TimeoutError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError,
                                                          sa_exc.InterfaceError)):
            return True
        return getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES
    return False


def is_infrastructure(exc: BaseException) -> bool:
    """An error of the database, the queue or the disk rather than of the data being handled:
    such an error is never reported as a problem with a user's file (HTTP: 503 + Retry-After,
    service.web.error_handlers). A value the database refuses (DataError: too long, out of range) is
    about the data; a constraint clash (IntegrityError) is a race that passes on retry."""
    if is_transient(exc):
        return True
    if isinstance(exc, sa_exc.DataError):
        return False
    return isinstance(exc, (sa_exc.SQLAlchemyError, redis.exceptions.RedisError, OSError))


def retrying(step: Callable[[], T], what: str) -> T:
    """Run `step`; on a transient error wait and run it again (a fresh session each time)."""
    for delay in BACKOFF_S:
        try:
            return step()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("transient error; retrying", extra={
                "what": what, "delay_s": delay, "error": f"{type(exc).__name__}: {exc}"[:300]})
            time.sleep(delay)
    return step()


def persisting(rt, what: str) -> bool:
    """Count one more round of transient failure for `what`; True once it has persisted too long
    to be transient. Redis being down counts as 'not yet' (that is itself transient)."""
    try:
        key = f"kneeguard:transient:{what}"
        rounds = rt.queue.redis.incr(key)
        rt.queue.redis.expire(key, 7 * 86400)
        return rounds >= MAX_ROUNDS
    except redis.exceptions.RedisError:
        return False


def forget(rt, what: str) -> None:
    try:
        rt.queue.redis.delete(f"kneeguard:transient:{what}")
    except redis.exceptions.RedisError:
        pass
