"""The ingest job: process one inbound event (provider push or file) by id.

Handlers are listed per (source, kind) in `handlers()` (an explicit table). Each is idempotent: it
may run twice (RQ is at-least-once) and out of order. Failures are recorded on the row with a
backoff; the sweeper retries them.

Read, release, call, write: the job reads the event in a short session and lets it go; the handler
talks to the provider with no transaction open (its own reads use short sessions too) and returns
a `Write` (for a run, a domain `Arrival`: service.domain.arrivals); the job then opens one session
and applies it, with the event's new status, in one transaction. The write answers what to do
after the commit (`Later`), which the job enqueues: the job enters the provider's package once
(the handler) and the domain once (the write). A slow or rate-limited provider therefore never
holds a row lock or a pooled connection, and on SQLite no transaction that read before a token
refresh committed has to write after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from service.domain.reanalysis import Later
from service.infra import jobs, transient
from service.infra import runtime as runtime_mod
from service.infra.metrics import JOBS
from service.infra.redact import redact_error
from service.infra.runtime import Runtime
from service.integrations.base import Dropped, Paused, ProviderError, Write
from service.models import InboundEvent, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
Handler = Callable[[Runtime, InboundEvent], Write]  # the event is a detached snapshot


def process_event(event_id: str) -> None:
    """Run the event's handler; transient errors (dropped connection, lock timeout) are retried
    in place, then left `received` for the sweeper."""
    rt = runtime_mod.current()
    what = f"ingest:{event_id}"
    try:
        later = transient.retrying(lambda: _process(rt, event_id), what)
    except Exception as exc:
        if not transient.is_transient(exc):
            raise
        log.warning("event deferred: transient error", extra={
            "event": event_id, "error": f"{type(exc).__name__}: {exc}"[:300]})
        if transient.persisting(rt, what):
            _give_up(rt, event_id, exc)
        return
    transient.forget(rt, what)
    _enqueue(rt, event_id, later)
    JOBS.labels("ingest", "ok").inc()


def _enqueue(rt: Runtime, event_id: str, later: Later) -> None:
    """After the commit: the runs to analyse (the new one, and the later runs it sent back to
    `parsed`: now, not at the next sweeper round), a stored backfill's one analysis, and the
    deliveries planned on the way (findings of a replaced copy withdrawn)."""
    for activity_id in later.runs:
        jobs.analyze_activity(rt, activity_id)
    for athlete_id, *args in later.histories:
        jobs.analyze_import(rt, athlete_id, *args, key=f"{athlete_id}-history-{event_id}")
    for delivery_id in later.deliveries:
        jobs.deliver(rt, delivery_id)


def _process(rt: Runtime, event_id: str) -> Later:
    event = _received(rt, event_id)
    if event is None:
        return Later()
    fn = handlers().get((event.source, event.kind))
    if fn is None:
        return _settle(rt, event_id, Dropped(f"no handler for {event.source}/{event.kind}"))
    try:
        write = fn(rt, event)  # the provider calls: no session of ours is open here
    except Exception as exc:
        return _settle(rt, event_id, exc)
    return _apply(rt, event_id, write)


def _received(rt: Runtime, event_id: str) -> InboundEvent | None:
    """A detached copy of the event while it still waits for processing."""
    with rt.db.session() as s:
        event = s.get(InboundEvent, event_id)
        return event if event is not None and event.status == "received" else None


def _apply(rt: Runtime, event_id: str, write: Write) -> Later:
    with rt.db.session() as s:
        event = s.get(InboundEvent, event_id)
        if event is None or event.status != "received":
            return Later()  # another run of this job settled it meanwhile
        try:
            with s.begin_nested():
                later = write(s)
        except Exception as exc:
            _record(event, exc)
            return Later()
        event.status, event.processed_at = "done", utcnow()
    return later


def _settle(rt: Runtime, event_id: str, exc: Exception) -> Later:
    """Record why the event did not get as far as its write."""
    with rt.db.session() as s:
        event = s.get(InboundEvent, event_id)
        if event is not None and event.status == "received":
            _record(event, exc)
    return Later()


def _record(event: InboundEvent, exc: Exception) -> None:
    if isinstance(exc, Dropped):
        event.status, event.last_error, event.processed_at = "dropped", redact_error(exc), utcnow()
    elif isinstance(exc, Paused):
        event.status, event.last_error = "paused", redact_error(exc)
    elif isinstance(exc, ProviderError):
        _failed(event, exc, permanent=exc.permanent, retry_after=exc.retry_after)
    elif transient.is_transient(exc):
        raise exc  # the session is likely dead: retry the whole unit of work
    else:  # a bug or bad data: record it and back off, never loop hot
        log.exception("event handler crashed", extra={"event": event.id}, exc_info=exc)
        _failed(event, exc, permanent=False, retry_after=None)


def _give_up(rt, event_id: str, exc: Exception) -> None:
    with rt.db.session() as s:
        event = s.get(InboundEvent, event_id)
        if event is not None and event.status == "received":
            _failed(event, exc, permanent=True, retry_after=None)


def _failed(event: InboundEvent, exc: Exception, *, permanent: bool,
            retry_after: float | None) -> None:
    event.attempts += 1
    event.last_error = redact_error(exc)
    if permanent or event.attempts >= MAX_ATTEMPTS:
        event.status = "failed"
        log.warning("event failed", extra={"event": event.id, "error": event.last_error})
        return
    delay = retry_after if retry_after is not None else 30 * 2 ** event.attempts
    event.next_attempt_at = utcnow() + timedelta(seconds=delay)


def handlers() -> dict[tuple[str, str], Handler]:
    """The one table of event handlers. Imported when called: the provider modules import this
    one (for `Dropped`), and the web side never imports either."""
    from service.integrations.garmin import jobs as garmin
    from service.integrations.strava import jobs as strava

    return {
        ("strava", "activity.create"): strava.on_activity,
        ("strava", "activity.update"): strava.on_activity,
        ("strava", "activity.delete"): strava.on_delete,
        ("strava", "athlete.deauthorize"): strava.on_deauthorize,
        ("strava", "sync"): strava.on_sync,
        ("garmin", "activity_file"): garmin.on_activity_file,
        ("garmin", "activity_summary"): garmin.on_activity_summary,
        ("garmin", "activity_ping"): garmin.on_activity_ping,
        ("garmin", "deregistration"): garmin.on_deregistration,
        ("garmin", "permissions"): garmin.on_permissions,
    }
