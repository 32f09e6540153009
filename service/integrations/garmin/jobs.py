"""Garmin jobs: inbound-event handlers (listed in workers.ingest.handlers) and the backfill job.

Handlers follow read, release, call, write (workers/ingest.py): `(runtime, event) -> Write`.
An activity file's callback URL works once (a repeat download answers 410), so the file is stored
and COMMITTED in its own transaction right after the download, before it is parsed: the handler's
own transaction is a savepoint that a later crash rolls back, and the retry must find the copy.
That is also why every database read before the download uses short sessions of its own (SQLite:
a transaction that read before another connection committed cannot write afterwards).

# Reference: ../shared/reference/apis.md §7 (activityFiles 410, backfill 30 days / 409)
# Reference: ../shared/reference/reliability.md §4 ("store the file before analysing")
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import deliveries, policy
from service.domain.activities import IngestResult, store_track
from service.domain.reanalysis import Later, joined
from service.infra.runtime import Runtime
from service.integrations import oauth
from service.integrations.base import AuthRevoked, Dropped, Paused, ProviderError, Write, nothing
from service.integrations.garmin import connection as gs
from service.integrations.garmin import status as gst
from service.integrations.garmin.callbacks import CallbackRefused, is_allowed_callback
from service.integrations.garmin.notifications import (
    ACTIVITY_EXPORT,
    ActivityFileNotice,
    ActivitySummary,
    Deregistration,
    PermissionChange,
    SummaryPing,
    summary_to_remote_activity,
)
from service.integrations.garmin.responses import FileGone, PermissionMissing
from service.models import Activity, Connection, InboundEvent, RawFile, utcnow
from workers.analysis import compute_metrics
from workers.parsing import InvalidFile, SessionTotals, Track, parse_bytes
from workers.parsing.formats import MAX_SINGLE_BYTES

log = logging.getLogger(__name__)
SOURCE = gs.SOURCE
_FILE_TYPES = {"fit", "gpx", "tcx"}


# -- drop, pause or keep: decided when the job runs, from the connection's state then ------------


def judge(conn: Connection | None) -> Connection:
    """The connection if its activities are to be ingested now. Revoked or unknown: Dropped (the
    row then frees its dedupe key, so a later re-send is processed). Sharing paused: Paused (the
    row waits and is resumed when sharing returns; Garmin will not send it again)."""
    if conn is None:
        raise Dropped("unknown garmin user")
    if conn.status == "revoked":
        raise Dropped(f"connection revoked: {conn.status_reason or 'disconnected'}")
    if conn.status != "active":
        raise Paused(conn.status_reason or gst.PAUSED_PERMISSION)
    return conn


@contextmanager
def upstream(rt: Runtime, conn_id: str) -> Iterator[None]:
    """Garmin's answer about the user, applied to the connection: 401/403 revoke it (the runner
    is told), 412 pauses it (GARMIN-ACT v1.2.3 Appendix B)."""
    try:
        yield
    except AuthRevoked as exc:
        gs.mark_revoked(rt, conn_id, gst.reason_for(exc))  # a no-op when already revoked
        raise Dropped(f"connection revoked: {exc}") from exc
    except PermissionMissing as exc:
        gs.mark_paused(rt, conn_id, gst.PAUSED_412)
        raise Paused(gst.PAUSED_412) from exc


# -- activity files ----------------------------------------------------------------------------


def _note(event: InboundEvent, why: str) -> Write:
    """A write that only says why the event changed nothing."""
    def write(s: Session) -> Later:
        s.get_one(InboundEvent, event.id).last_error = why
        return Later()
    return write


def on_activity_file(rt: Runtime, event: InboundEvent) -> Write:
    notice = ActivityFileNotice.model_validate(event.payload)
    fetched = fetch_file(rt, notice)
    if fetched is None:
        return _note(event, "skipped: activity already stored")
    athlete_id, raw_id = fetched
    # Parsing is CPU, not a call: it runs in the write, beside the rows it creates.
    return lambda s: ingest_raw(s, athlete_id, s.get_one(RawFile, raw_id), notice)


def fetch_file(rt: Runtime, notice: ActivityFileNotice) -> tuple[str, str] | None:
    """(athlete id, raw file id) of the stored file, downloading it only when no copy is stored.
    None when the activity is already ingested; Dropped/Paused when the connection says so now."""
    name = raw_filename(notice)
    with rt.db.session() as s:
        conn = judge(gs.connection_for(s, notice.user_id))
        athlete_id, conn_id = conn.athlete_id, conn.id
        stored = _stored_raw(s, athlete_id, name)
        if stored is not None:
            return athlete_id, stored
        if _activity_exists(s, notice.provider_id):
            return None
    return athlete_id, _download(rt, notice, conn_id, athlete_id, name)


def _download(rt: Runtime, notice: ActivityFileNotice, conn_id: str, athlete_id: str,
              name: str) -> str:
    """Fetch the file once and commit it at once; the raw file's id."""
    # Checked before any token is fetched or request made: the body is unsigned.
    if not is_allowed_callback(notice.callback_url, rt.settings.garmin_api_url):
        raise CallbackRefused(notice.callback_url)
    try:
        with upstream(rt, conn_id):
            data = gs.client(rt.settings).download_file(gs.access_token(rt, conn_id),
                                                         notice.callback_url, MAX_SINGLE_BYTES)
    except FileGone:
        with rt.db.session() as s:  # a concurrent run may have stored it meanwhile
            stored = _stored_raw(s, athlete_id, name)
        if stored is not None:
            return stored
        raise ProviderError("Garmin already served this file once (HTTP 410) and no copy is "
                            "stored; resend the activity from Garmin to import it",
                            permanent=True, status=410) from None
    with rt.db.session() as s:
        return _store_raw(s, athlete_id, name, data)


def raw_filename(notice: ActivityFileNotice) -> str:
    """The stored file's name doubles as its lookup key: one Garmin activity, one name."""
    ext = notice.file_type.lower() if notice.file_type.lower() in _FILE_TYPES else "bin"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", notice.provider_id)[:200]
    return f"garmin-{safe}.{ext}"


def _stored_raw(s: Session, athlete_id: str, name: str) -> str | None:
    return s.scalar(select(RawFile.id).where(RawFile.athlete_id == athlete_id,
                                             RawFile.source == SOURCE, RawFile.filename == name))


def _activity_exists(s: Session, provider_id: str) -> bool:
    return s.scalar(select(Activity.id).where(Activity.source == SOURCE,
                                              Activity.provider_activity_id == provider_id)
                    ) is not None


def _store_raw(s: Session, athlete_id: str, name: str, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    # The same bytes uploaded by hand earlier: reuse that row (unique per athlete and sha256).
    same = s.scalar(select(RawFile.id).where(RawFile.athlete_id == athlete_id,
                                             RawFile.sha256 == sha))
    if same is not None:
        return same
    raw = RawFile(athlete_id=athlete_id, source=SOURCE, filename=name, sha256=sha,
                  size=len(data), data=data, expires_at=policy.raw_expiry(SOURCE, utcnow()))
    s.add(raw)
    s.flush()
    return raw.id


def ingest_raw(s: Session, athlete_id: str, raw: RawFile,
               notice: ActivityFileNotice) -> Later:
    """Parse the stored file and create one activity per leg (leg 0 keeps Garmin's id); the new
    runs and the later ones they sent back for re-analysis are analysed after the commit."""
    try:
        parsed = parse_bytes(raw.data, raw.filename)
    except InvalidFile as exc:
        raise ProviderError(f"Garmin file {raw.filename} is unreadable: {exc}",
                            permanent=True) from exc
    if not parsed.tracks:
        reasons = "; ".join(k.reason for k in parsed.skipped) or "no activity in the file"
        raise ProviderError(f"Garmin file {raw.filename}: {reasons}", permanent=True)
    stored: list[Later] = []
    for leg, track in enumerate(parsed.tracks):
        provider_id = notice.provider_id if leg == 0 else f"{notice.provider_id}#{leg}"
        if _activity_exists(s, provider_id):
            continue
        track.name = track.name or notice.activity_name
        track.device = track.device or notice.device_name
        result = store_track(s, athlete_id, track, SOURCE, raw.filename, raw_file_id=raw.id,
                             leg=leg, provider_activity_id=provider_id)
        stored.append(_later(result))
    return joined(*stored)


def _later(result: IngestResult) -> Later:
    return Later(runs=tuple([item["id"] for item in result.created] + result.again),
                 deliveries=tuple(result.deliveries))


# -- activity summaries (manual entries have no file) ------------------------------------------


def on_activity_summary(rt: Runtime, event: InboundEvent) -> Write:
    summary = ActivitySummary.model_validate(event.payload)

    def write(s: Session) -> Later:  # no call to Garmin: the push carried the summary
        conn = judge(gs.connection_for(s, summary.user_id or ""))
        return store_summary(s, conn.athlete_id, summary)
    return write


def on_activity_ping(rt: Runtime, event: InboundEvent) -> Write:
    ping = SummaryPing.model_validate(event.payload)
    with rt.db.session() as own:
        conn = judge(gs.connection_for(own, ping.user_id))
        athlete_id, conn_id = conn.athlete_id, conn.id
    if not is_allowed_callback(ping.callback_url, rt.settings.garmin_api_url):
        raise CallbackRefused(ping.callback_url)
    with upstream(rt, conn_id):
        summaries = gs.client(rt.settings).fetch_summaries(gs.access_token(rt, conn_id),
                                                           ping.callback_url)
    mine = [summary for summary in summaries if summary.user_id in (None, ping.user_id)]
    return lambda s: joined(*(store_summary(s, athlete_id, summary) for summary in mine))


def store_summary(s: Session, athlete_id: str, summary: ActivitySummary) -> Later:
    """Manual activities become summary-only tracks. Recorded ones are skipped: their FIT file
    arrives as an activityFiles ping and carries the data the rules need."""
    if not summary.manual:
        return Later()
    track = summary_track(summary)
    existing = s.scalar(select(Activity).where(Activity.source == SOURCE,
                                               Activity.provider_activity_id ==
                                               summary.provider_id))
    if existing is not None:  # a manually updated activity: refresh it and analyse again
        existing.start_time, existing.name = track.start_time, track.name
        existing.distance_m, existing.moving_time_s = track.distance_m, track.moving_time_s
        existing.metrics, existing.status = compute_metrics(track).to_dict(), "parsed"
        return Later(runs=(existing.id,))
    return _later(store_track(s, athlete_id, track, SOURCE, f"garmin-{summary.provider_id}",
                              provider_activity_id=summary.provider_id))


def summary_track(summary: ActivitySummary) -> Track:
    """A Track without records. The summary's elevation totals go into `totals`, which the
    metrics report as the device's figures (Garmin summaries carry elevation loss)."""
    remote = summary_to_remote_activity(summary)
    return Track(
        start_time=remote.start_time, sport=remote.sport, sub_sport=remote.sub_sport,
        device=summary.device_name, manual=summary.manual, name=remote.name,
        utc_offset_s=summary.start_time_offset_in_seconds,  # local day = the watch's display day
        summary_distance_m=remote.distance_m, summary_moving_time_s=remote.moving_time_s,
        totals=SessionTotals(distance_m=remote.distance_m, ascent_m=remote.elevation_gain_m,
                             descent_m=remote.elevation_loss_m, timer_s=remote.moving_time_s),
    )


# -- deregistration and permissions ------------------------------------------------------------


def on_deregistration(rt: Runtime, event: InboundEvent) -> Write:
    """The user removed us in Garmin Connect (or we deregistered): that is a disconnect, so the
    tokens and the Garmin data go (DESIGN §2). The push is unsigned (only the public
    garmin-client-id header), so Garmin must confirm first: the user's token is refused (401).
    A token Garmin still accepts means a forged or stale notification: nothing is revoked."""
    dereg = Deregistration.model_validate(event.payload)
    if not _registration_gone(rt, dereg.user_id):
        log.warning("ignored a Garmin deregistration Garmin does not confirm",
                    extra={"event": event.id})
        raise Dropped("unconfirmed: Garmin still accepts the user's token")
    return lambda s: _deregistered(s, dereg.user_id)


def _deregistered(s: Session, user_id: str) -> Later:
    conn = gs.connection_for(s, user_id)
    if conn is None:
        return Later()
    gs.revoke(conn, gst.DEREGISTERED)
    conn.details = {**(conn.details or {}), "deregistered_at": utcnow().isoformat()}
    deleted, again = gs.purge(s, conn.athlete_id)
    log.info("garmin deregistration", extra={"connection": conn.id, **deleted})
    # Sent by the sweeper once this event's transaction commits.
    # Once per connection lifetime: after our own disconnect this plans nothing.
    deliveries.plan_connection_event(s, conn, "athlete.disconnected", reason="deauthorized")
    return Later(runs=tuple(again))


def _registration_gone(rt: Runtime, user_id: str) -> bool:
    """True when Garmin refuses the user's tokens (or we hold none any more); False when its
    permissions endpoint still answers. 5xx/timeouts/429 raise: the event is retried."""
    try:
        _upstream_permissions(rt, user_id)
    except (AuthRevoked, LookupError):
        return True
    return False


def _upstream_permissions(rt: Runtime, user_id: str) -> frozenset[str]:
    """What Garmin says the user grants us now (GET /wellness-api/rest/user/permissions with
    the user's token, refreshed if due). LookupError when no usable token is stored. A disabled
    connection's token still works: Garmin only stops sharing data (apis.md §7)."""
    with rt.db.session() as own:
        conn = gs.connection_for(own, user_id)
        if conn is None:
            raise LookupError(user_id)
        conn_id = conn.id
    api = gs.client(rt.settings)
    token = oauth.access_token(rt.db, rt.box, conn_id, api.refresh,
                               statuses=("active", "disabled"))
    return api.get_permissions(token)


def on_permissions(rt: Runtime, event: InboundEvent) -> Write:
    """Without ACTIVITY_EXPORT Garmin shares nothing: ingestion stops (status disabled) and
    resumes when the permission returns. An older change arriving late is ignored. The push is
    unsigned, so the permissions applied are the ones Garmin's endpoint reports now, not the
    pushed list (a forged push cannot switch a connection off)."""
    change = PermissionChange.model_validate(event.payload)
    with rt.db.session() as own:
        conn = gs.connection_for(own, change.user_id)
        if conn is None or conn.status == "revoked":
            return nothing
    try:
        granted = _upstream_permissions(rt, change.user_id)
    except (AuthRevoked, LookupError):
        raise Dropped("unconfirmed: Garmin refuses the user's token") from None
    return lambda s: _apply_permissions(s, event, change, granted)


def _apply_permissions(s: Session, event: InboundEvent, change: PermissionChange,
                       granted: frozenset[str]) -> Later:
    conn = gs.connection_for(s, change.user_id)
    if conn is None:  # disconnected while we asked Garmin
        return Later()
    details = dict(conn.details or {})
    when = change.change_time_in_seconds or 0
    if when < int(details.get("permissions_changed_at") or 0):
        return _note(event, "skipped: older than the last permission change")(s)
    if ACTIVITY_EXPORT in granted:
        gst.resume(conn)
        gs.resume_paused(s, change.user_id)
    else:
        gst.pause(conn, gst.PAUSED_PERMISSION)
    if set(granted) != set(change.permissions):
        log.warning("Garmin reports other permissions than the push said", extra={"event": event.id})
    details.update(permissions=sorted(granted), permissions_changed_at=when)
    conn.details = details
    return Later()
