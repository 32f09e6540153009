"""Strava jobs: inbound-event handlers (listed in workers.ingest.handlers) and the reconcile/purge
jobs (the description-note sender is writeback.py).

Events are unsigned hints: every handler re-fetches with the owner's token, so duplicates and any
order are harmless — a create or update is an upsert of what Strava says now, a delete Strava
confirms (404) leaves its event row as a tombstone that later creates respect, a deauthorization
Strava confirms (tokens refused) purges everything at once. Unconfirmed ones destroy nothing.

Read, release, call, write (workers/ingest.py): a handler gets the runtime and a detached copy of
the event, reads what it needs in short sessions of its own, calls Strava with no transaction
open, and returns a `Write` that the ingest job applies in one transaction with the event's new
status. A run Strava describes goes back as a domain `Arrival` (service.domain.arrivals), which
stores it and answers what to analyse: the job does not come back into this package to write.
SQLite cannot let a transaction that read before another connection committed (e.g. a token
refresh) write afterwards, and no transaction should stay open across an HTTP call anyway.

# Reference: ../shared/reference/apis.md §2-4, §10 (events, streams, rate limits, write-back)
# Reference: ../shared/reference/reliability.md §4
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import deliveries, reanalysis
from service.domain.arrivals import Arrival, store
from service.domain.reanalysis import Later
from service.infra import jobs
from service.infra import runtime as runtime_mod
from service.infra.runtime import Runtime
from service.integrations.base import (
    AuthRevoked,
    Dropped,
    ProviderError,
    RateLimited,
    RemoteActivity,
    Write,
    nothing,
)
from service.integrations.strava import connection as svc
from service.integrations.strava.client import StravaClient
from service.models import Activity, Connection, InboundEvent, utcnow
from workers.parsing.streams import parse_strava_streams
from workers.parsing.track import InvalidFile, Track

log = logging.getLogger(__name__)
STEP_SPORTS = frozenset({"running", "walking", "hiking"})  # the sports whose streams we read


@dataclass(frozen=True)
class Ctx:
    connection_id: str
    athlete_id: str
    owner_id: str


def _context(rt: Runtime, owner_id: object) -> Ctx | None:
    with rt.db.session() as s:
        conn = svc.connection_for(s, str(owner_id))
        if conn is None or conn.status != "active":
            return None
        return Ctx(conn.id, conn.athlete_id, conn.provider_user_id)


def _token(rt: Runtime, ctx: Ctx) -> str | None:
    """A valid access token, or None when the connection is gone (deauthorized meanwhile)."""
    try:
        return svc.access_token(rt, ctx.connection_id)
    except LookupError:
        return None
    except AuthRevoked:
        with rt.db.session() as s:  # the runner must reconnect; stop using this connection
            conn = s.get(Connection, ctx.connection_id)
            if conn is not None:
                conn.status = "revoked"
        raise


def _row(s: Session, athlete_id: str, provider_id: object) -> Activity | None:
    # The handlers' own read (is the run held?) and the delete's write; a stored run's write
    # finds its row in service.domain.arrivals.
    return s.scalar(select(Activity).where(Activity.source == svc.PROVIDER,
                                           Activity.athlete_id == athlete_id,
                                           Activity.provider_activity_id == str(provider_id)))


# ---- activity events -------------------------------------------------------------------------


def on_activity(rt: Runtime, event: InboundEvent) -> Write:
    """Upsert the activity as Strava describes it now (an update before its create creates it)."""
    owner, oid = event.payload["owner_id"], event.payload["object_id"]
    ctx = _context(rt, owner)
    if ctx is None or _tombstoned(rt, owner, oid):
        return nothing
    svc.check_budget(rt, "live")
    token = _token(rt, ctx)
    if token is None:
        return nothing
    api = svc.client(rt)
    try:
        remote = api.get_activity(token, oid)
    except ProviderError as exc:
        if exc.status == 404:  # deleted, or no longer visible: it must leave our cache too
            return lambda s: _forget(s, ctx, oid)
        raise
    # Streams only for a run we do not hold yet (a title or privacy change needs none).
    track = None if _known(rt, ctx, oid) else _track(rt, api, token, remote, "live")
    return _arrival(ctx, remote, track, "parsed", created=event.kind == "activity.create")


def _arrival(ctx: Ctx, remote: RemoteActivity, track: Track | None, status: str, *,
             created: bool = False) -> Arrival:
    return Arrival(ctx.athlete_id, svc.PROVIDER, str(remote.provider_id), _summary_track(remote),
                   remote.private, track, status, created)


def _known(rt: Runtime, ctx: Ctx, oid: object) -> bool:
    with rt.db.session() as s:
        return _row(s, ctx.athlete_id, oid) is not None


def _tombstoned(rt: Runtime, owner: str | int, oid: str | int) -> bool:
    with rt.db.session() as s:
        return svc.tombstoned(s, owner, oid)


def _track(rt: Runtime, api: StravaClient, token: str, remote: RemoteActivity,
           priority: svc.Priority) -> Track:
    """Streams for runs, walks and hikes with a recording; a summary Track for the rest (manual
    entries have no streams: Strava answers 404 for them, so we do not even ask)."""
    if remote.manual or remote.sport not in STEP_SPORTS:
        return _summary_track(remote)
    svc.check_budget(rt, priority)
    streams = api.get_streams(token, remote.provider_id)
    if not streams:
        return _summary_track(remote)
    try:
        return parse_strava_streams(streams, remote.raw)
    except InvalidFile:
        log.warning("unreadable strava streams", extra={"activity": remote.provider_id})
        return _summary_track(remote)


def _summary_track(r: RemoteActivity) -> Track:
    return Track(start_time=r.start_time, sport=r.sport, sub_sport=r.sub_sport, manual=r.manual,
                 gear_id=r.gear_id, name=r.name, summary_distance_m=r.distance_m,
                 summary_moving_time_s=r.moving_time_s)


def _forget(s: Session, ctx: Ctx, oid: object) -> Later:
    ids = s.scalars(select(Activity.id).where(
        Activity.source == svc.PROVIDER, Activity.athlete_id == ctx.athlete_id,
        Activity.provider_activity_id == str(oid))).all()
    _counts, again = svc.forget_activities(s, ctx.athlete_id, list(ids))
    return Later(runs=tuple(again))


def on_delete(rt: Runtime, event: InboundEvent) -> Write:
    """Pushes are unsigned, so a delete is a claim to check: only when Strava answers 404 for the
    activity (owner's token) do the activity and everything derived from it go. This row then
    stays "done" as the tombstone that stops a late create from bringing it back. A delete Strava
    does not confirm, or one for an activity we never stored (e.g. a future id), ends "dropped"
    and leaves no tombstone."""
    owner, oid = event.payload["owner_id"], event.payload["object_id"]
    ctx = _context(rt, owner)
    if ctx is None:
        raise Dropped("no active Strava connection for this owner")
    if not _gone_at_strava(rt, ctx, oid):
        log.warning("ignored a delete event Strava does not confirm",
                    extra={"event": event.id, "activity": str(oid)})
        raise Dropped("unconfirmed: Strava still serves this activity")

    def write(s: Session) -> Later:
        if _row(s, ctx.athlete_id, oid) is None:
            raise Dropped("nothing stored for this activity")
        return _forget(s, ctx, oid)
    return write


def _gone_at_strava(rt: Runtime, ctx: Ctx, oid: str | int) -> bool:
    """True when Strava answers 404 for the activity with its owner's token. Any other failure
    (5xx, timeout, 429) raises, so the job retries instead of deciding either way."""
    svc.check_budget(rt, "live")
    token = _token(rt, ctx)
    if token is None:
        raise Dropped("the Strava connection is gone")
    try:
        svc.client(rt).get_activity(token, oid)
    except ProviderError as exc:
        if exc.status == 404:
            return True
        raise
    return False


# ---- deauthorization ---------------------------------------------------------------------------


def on_deauthorize(rt: Runtime, event: InboundEvent) -> Write:
    """Tokens and every Strava-derived row deleted at once, queued work cancelled. Events are
    unsigned, so Strava must confirm first: only when the stored tokens are refused (401 on the
    call or on the refresh) is this a real deauthorization. A working token means the event is
    stale (the runner reconnected since) or forged: ignored. Other failures retry later."""
    ctx = _context(rt, event.payload["owner_id"])
    if ctx is not None and not _token_refused(rt, ctx):
        log.warning("ignored a deauthorization for a working token", extra={"event": event.id})
        raise Dropped("unconfirmed: the Strava token still works")

    def write(s: Session) -> Later:
        conn = svc.connection_for(s, event.payload["owner_id"])
        if conn is None:
            return Later()
        # The athlete's own endpoints hear of it once per connection lifetime (sent by the sweeper).
        deliveries.plan_connection_event(s, conn, "athlete.disconnected", reason="deauthorized")
        counts, again = svc.purge_athlete(s, conn, keep_event_id=event.id)
        log.info("strava deauthorization purged", extra={"athlete": conn.athlete_id, **counts})
        return Later(runs=tuple(again))
    return write


def _token_refused(rt: Runtime, ctx: Ctx) -> bool:
    """Strava refuses the athlete's tokens (AuthRevoked) or we hold none; a 5xx/timeout/429
    raises so the event is retried, never taken as a confirmation."""
    try:
        token = svc.access_token(rt, ctx.connection_id)
        svc.client(rt).get_athlete(token)
    except (AuthRevoked, LookupError):
        return True
    return False


# ---- history: backfill on connect, reconcile later ------------------------------------------------


def on_sync(rt: Runtime, event: InboundEvent) -> Write:
    """List the last HISTORY_DAYS of activities (per_page=200: one or two calls) and store what
    is missing: streams for runs of the last STREAM_DAYS, summaries for the rest. Backfill
    priority; when the budget runs out, what was fetched is stored, a follow-up sync is scheduled
    and the progress kept."""
    ctx = _context(rt, event.payload["owner_id"])
    if ctx is None or ctx.connection_id != event.payload.get("connection_id"):
        return nothing
    now = utcnow()
    try:
        svc.check_budget(rt, "backfill")
        token = _token(rt, ctx)
        if token is None:
            return nothing
        api = svc.client(rt)
        remotes = list(api.iter_activities(token, after=now - timedelta(days=svc.HISTORY_DAYS)))
    except RateLimited as exc:
        wait = exc.retry_after
        return lambda s: _continue_later(s, ctx, wait)
    with rt.db.session() as s:
        skip = _known_ids(s, ctx) | _deleted_ids(s, ctx.owner_id)
    fetched, wait = _fetch_missing(rt, api, token, remotes, skip, now - timedelta(days=svc.STREAM_DAYS))

    def write(s: Session) -> Later:
        since = utcnow()
        stored = [store(s, _arrival(ctx, remote, track, "history")) for remote, track in fetched]
        if wait is not None:
            return reanalysis.joined(*stored, _continue_later(s, ctx, wait or None))
        if fetched or event.payload.get("reason") == "continue":
            # The backfill is complete: its history is analysed once, as an import's, so /me
            # shows what it held (old findings neither email nor write notes: notify_max_age_days).
            stored.append(reanalysis.history_later(
                ctx.athlete_id, (now - timedelta(days=svc.HISTORY_DAYS)).date(), now.date(), since))
        return reanalysis.joined(*stored)
    return write


def _fetch_missing(rt: Runtime, api: StravaClient, token: str, remotes: list[RemoteActivity],
                   skip: set[str], recent: datetime) -> tuple[list, float | None]:
    """(remote, track) for each run not held yet, newest first; and None, or how long to wait
    (0: as long as the budget says) when the rate budget ran out part way."""
    fetched: list = []
    for remote in sorted(remotes, key=lambda r: r.start_time, reverse=True):
        if remote.provider_id in skip:
            continue
        try:
            track = (_track(rt, api, token, remote, "backfill") if remote.start_time >= recent
                     else _summary_track(remote))
        except RateLimited as exc:
            return fetched, exc.retry_after or 0
        fetched.append((remote, track))
    return fetched, None


def _continue_later(s: Session, ctx: Ctx, wait: float | None) -> Later:
    conn = s.get(Connection, ctx.connection_id)
    if conn is not None:
        svc.add_sync_event(s, conn, "continue",
                           not_before=utcnow() + timedelta(seconds=(wait or 900) + 1))
    return Later()


def _known_ids(s: Session, ctx: Ctx) -> set[str]:
    return set(s.scalars(select(Activity.provider_activity_id).where(
        Activity.source == svc.PROVIDER, Activity.athlete_id == ctx.athlete_id)))


def _deleted_ids(s: Session, owner: str) -> set[str]:
    prefix = f"{svc.event_prefix(owner)}activity:"
    keys = s.scalars(select(InboundEvent.dedupe_key).where(
        InboundEvent.kind == "activity.delete", InboundEvent.status == "done",
        InboundEvent.dedupe_key.startswith(prefix, autoescape=True)))
    return {k[len(prefix):].split(":", 1)[0] for k in keys}


def reconcile() -> dict:
    """The lost-events backstop (run daily by the scheduler or `kneeguard strava reconcile`):
    purge what is past retention, then a sync per active connection re-fetches what is needed."""
    rt = runtime_mod.current()
    with rt.db.session() as s:
        purged = svc.purge_expired(s)
        conns = s.scalars(select(Connection).where(Connection.provider == svc.PROVIDER,
                                                   Connection.status == "active")).all()
        ids = [svc.add_sync_event(s, c, "reconcile") for c in conns]
    for event_id in ids:
        jobs.process_event(rt, event_id)
    return {"purged": purged, "syncs": len(ids)}


def purge() -> dict:
    """Delete Strava data past its retention (policy: 7 days)."""
    rt = runtime_mod.current()
    with rt.db.session() as s:
        return svc.purge_expired(s)
