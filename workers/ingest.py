"""The ingest job: process one inbound event (provider push or file) by id.

Handlers are registered per (source, kind). Each is idempotent: it may run twice (RQ is at-least-once)
and out of order. Failures are recorded on the row with a backoff; the sweeper retries them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from service import runtime as runtime_mod
from service.metrics import JOBS
from service.models import InboundEvent, utcnow
from service.providers.base import ProviderError

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
Handler = Callable[[Session, InboundEvent], list[str]]
HANDLERS: dict[tuple[str, str], Handler] = {}


class Dropped(Exception):
    """Raised by a handler when the event is not for us any more (e.g. connection revoked)."""


class Paused(Exception):
    """Raised by a handler when the event must wait (e.g. the runner paused sharing): the row is
    parked as `paused` until whatever ends the pause sets it back to `received`."""


def handler(source: str, kind: str):
    def register(fn: Handler) -> Handler:
        HANDLERS[(source, kind)] = fn
        return fn
    return register


def process_event(event_id: str) -> None:
    rt = runtime_mod.current()
    _load_handlers()
    created: list[str] = []
    with rt.db.session() as s:
        event = s.get(InboundEvent, event_id)
        if event is None or event.status != "received":
            return
        fn = HANDLERS.get((event.source, event.kind))
        if fn is None:
            event.status, event.last_error = "dropped", f"no handler for {event.source}/{event.kind}"
            return
        try:
            with s.begin_nested():
                created = fn(s, event)
            event.status, event.processed_at = "done", utcnow()
        except Dropped as exc:
            event.status, event.last_error, event.processed_at = "dropped", str(exc)[:1000], utcnow()
        except Paused as exc:
            event.status, event.last_error = "paused", str(exc)[:1000]
        except ProviderError as exc:
            _failed(event, exc, permanent=exc.permanent, retry_after=exc.retry_after)
        except Exception as exc:  # a bug or bad data: record it and back off, never loop hot
            log.exception("event handler crashed", extra={"event": event_id})
            _failed(event, exc, permanent=False, retry_after=None)
    for activity_id in created:
        rt.queue.enqueue("analyze", "workers.analyze.analyze_activity", activity_id, key=activity_id)
    JOBS.labels("ingest", "ok").inc()


def _failed(event: InboundEvent, exc: Exception, *, permanent: bool,
            retry_after: float | None) -> None:
    event.attempts += 1
    event.last_error = str(exc)[:1000]
    if permanent or event.attempts >= MAX_ATTEMPTS:
        event.status = "failed"
        log.warning("event failed", extra={"event": event.id, "error": event.last_error})
        return
    delay = retry_after if retry_after is not None else 30 * 2 ** event.attempts
    event.next_attempt_at = utcnow() + timedelta(seconds=delay)


def _load_handlers() -> None:
    # Provider modules register their handlers on import.
    import workers.providers  # noqa: F401
