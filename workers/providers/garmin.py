"""Garmin jobs: inbound-event handlers (listed in workers.ingest.handlers) and the backfill job.

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
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import deliveries, policy
from service import garmin_service as gs
from service import runtime as runtime_mod
from service.activities import store_track
from service.models import Activity, Connection, InboundEvent, RawFile, utcnow
from service.providers.base import AuthRevoked, ProviderError
from service.providers.garmin import (
    CallbackRefused,
    FileGone,
    is_allowed_callback,
    summary_to_remote_activity,
)
from service.providers.garmin_notifications import (
    ActivityFileNotice,
    ActivitySummary,
    Deregistration,
    PermissionChange,
    SummaryPing,
)
from service.runtime import Runtime
from workers.analysis import compute_metrics
from workers.parsing import InvalidFile, SessionTotals, Track, parse_bytes
from workers.parsing.formats import MAX_SINGLE_BYTES

log = logging.getLogger(__name__)
SOURCE = gs.SOURCE
_FILE_TYPES = {"fit", "gpx", "tcx"}


# -- activity files ----------------------------------------------------------------------------


def on_activity_file(s: Session, event: InboundEvent) -> list[str]:
    notice = ActivityFileNotice.model_validate(event.payload)
    rt = runtime_mod.current()
    fetched = fetch_file(rt, notice)
    if fetched is None:
        event.last_error = "skipped: connection not active or activity already stored"
        return []
    athlete_id, raw_id = fetched
    return ingest_raw(s, athlete_id, s.get(RawFile, raw_id), notice)


def fetch_file(rt: Runtime, notice: ActivityFileNotice) -> tuple[str, str] | None:
    """(athlete id, raw file id) of the stored file, downloading it only when no copy is stored.
    None when there is nothing to do (connection not active, activity already ingested)."""
    name = raw_filename(notice)
    with rt.db.session() as s:
        conn = gs.connection_for(s, notice.user_id)
        if conn is None or conn.status != "active":
            return None
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
               notice: ActivityFileNotice) -> list[str]:
    """Parse the stored file and create one activity per leg (leg 0 keeps Garmin's id)."""
    try:
        parsed = parse_bytes(raw.data, raw.filename)
    except InvalidFile as exc:
        raise ProviderError(f"Garmin file {raw.filename} is unreadable: {exc}",
                            permanent=True) from exc
    if not parsed.tracks:
        reasons = "; ".join(k.reason for k in parsed.skipped) or "no activity in the file"
        raise ProviderError(f"Garmin file {raw.filename}: {reasons}", permanent=True)
    created: list[str] = []
    for leg, track in enumerate(parsed.tracks):
        provider_id = notice.provider_id if leg == 0 else f"{notice.provider_id}#{leg}"
        if _activity_exists(s, provider_id):
            continue
        track.name = track.name or notice.activity_name
        track.device = track.device or notice.device_name
        result = store_track(s, athlete_id, track, SOURCE, raw.filename, raw_file_id=raw.id,
                             leg=leg, provider_activity_id=provider_id)
        created += [item["id"] for item in result.created]
    return created


# -- activity summaries (manual entries have no file) ------------------------------------------


def on_activity_summary(s: Session, event: InboundEvent) -> list[str]:
    summary = ActivitySummary.model_validate(event.payload)
    conn = gs.connection_for(s, summary.user_id or "")
    if conn is None or conn.status != "active":
        event.last_error = "skipped: connection not active"
        return []
    return store_summary(s, conn.athlete_id, summary)


def on_activity_ping(s: Session, event: InboundEvent) -> list[str]:
    ping = SummaryPing.model_validate(event.payload)
    rt = runtime_mod.current()
    with rt.db.session() as own:
        conn = gs.connection_for(own, ping.user_id)
        if conn is None or conn.status != "active":
            event.last_error = "skipped: connection not active"
            return []
        athlete_id, conn_id = conn.athlete_id, conn.id
    if not is_allowed_callback(ping.callback_url, rt.settings.garmin_api_url):
        raise CallbackRefused(ping.callback_url)
    summaries = gs.client(rt.settings).fetch_summaries(gs.access_token(rt, conn_id),
                                                       ping.callback_url)
    created: list[str] = []
    for summary in summaries:
        if summary.user_id in (None, ping.user_id):
            created += store_summary(s, athlete_id, summary)
    return created


def store_summary(s: Session, athlete_id: str, summary: ActivitySummary) -> list[str]:
    """Manual activities become summary-only tracks. Recorded ones are skipped: their FIT file
    arrives as an activityFiles ping and carries the data the rules need."""
    if not summary.manual:
        return []
    track = summary_track(summary)
    existing = s.scalar(select(Activity).where(Activity.source == SOURCE,
                                               Activity.provider_activity_id ==
                                               summary.provider_id))
    if existing is not None:  # a manually updated activity: refresh it and analyse again
        existing.start_time, existing.name = track.start_time, track.name
        existing.distance_m, existing.moving_time_s = track.distance_m, track.moving_time_s
        existing.metrics, existing.status = compute_metrics(track).to_dict(), "parsed"
        return [existing.id]
    result = store_track(s, athlete_id, track, SOURCE, f"garmin-{summary.provider_id}",
                         provider_activity_id=summary.provider_id)
    return [item["id"] for item in result.created]


def summary_track(summary: ActivitySummary) -> Track:
    """A Track without records. The summary's elevation totals go into `totals`, which the
    metrics report as the device's figures (Garmin summaries carry elevation loss)."""
    remote = summary_to_remote_activity(summary)
    return Track(
        start_time=remote.start_time, sport=remote.sport, sub_sport=remote.sub_sport,
        device=summary.device_name, manual=summary.manual, name=remote.name,
        summary_distance_m=remote.distance_m, summary_moving_time_s=remote.moving_time_s,
        totals=SessionTotals(distance_m=remote.distance_m, ascent_m=remote.elevation_gain_m,
                             descent_m=remote.elevation_loss_m, timer_s=remote.moving_time_s),
    )


# -- deregistration and permissions ------------------------------------------------------------


def on_deregistration(s: Session, event: InboundEvent) -> list[str]:
    """The user removed us in Garmin Connect (or we deregistered): that is a disconnect, so the
    tokens and the Garmin data go (DESIGN §2)."""
    dereg = Deregistration.model_validate(event.payload)
    conn = gs.connection_for(s, dereg.user_id)
    if conn is None:
        return []
    gs.revoke(conn)
    conn.details = {**(conn.details or {}), "deregistered_at": utcnow().isoformat()}
    deleted = gs.purge(s, conn.athlete_id)
    log.info("garmin deregistration", extra={"connection": conn.id, **deleted})
    # Sent by the sweeper once this event's transaction commits.
    deliveries.plan_event(s, conn.athlete_id, "athlete.disconnected",
                          {"athlete_id": conn.athlete_id, "provider": "garmin"},
                          key=f"garmin:{conn.id}:{event.id}")
    return []


def on_permissions(s: Session, event: InboundEvent) -> list[str]:
    """Without ACTIVITY_EXPORT Garmin shares nothing: ingestion stops (status disabled) and
    resumes when the permission returns. An older change arriving late is ignored."""
    change = PermissionChange.model_validate(event.payload)
    conn = gs.connection_for(s, change.user_id)
    if conn is None or conn.status == "revoked":
        return []
    details = dict(conn.details or {})
    when = change.change_time_in_seconds or 0
    if when < int(details.get("permissions_changed_at") or 0):
        event.last_error = "skipped: older than the last permission change"
        return []
    conn.status = "active" if change.allows_activity_export else "disabled"
    details.update(permissions=sorted(change.permissions), permissions_changed_at=when)
    conn.details = details
    return []


# -- backfill ----------------------------------------------------------------------------------


def backfill(connection_id: str) -> None:
    """Job: ask Garmin to re-send the last N days of activities in 30-day chunks (a 409 for a
    range already requested counts as done). Results arrive later as ordinary notifications."""
    rt = runtime_mod.current()
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is None or conn.status != "active":
            return
    start, end = gs.backfill_range(rt.settings)
    outcome: dict = {"start": start.isoformat(), "end": end.isoformat()}
    retry_after: float | None = None
    try:
        results = gs.client(rt.settings).request_backfill(gs.access_token(rt, connection_id),
                                                          start, end)
        outcome.update(status="requested", chunks=len(results),
                       duplicates=sum(r.duplicate for r in results))
    except AuthRevoked:
        return  # access_token() already marked the connection revoked
    except ProviderError as exc:
        log.warning("garmin backfill failed", extra={"connection": connection_id})
        outcome.update(status="failed", error=str(exc)[:300])
        retry_after = exc.retry_after
        if exc.permanent:
            outcome["status"] = "failed_permanently"
    now = datetime.now(UTC)
    outcome["at"] = now.isoformat()
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is not None:
            previous = (conn.details or {}).get("backfill") or {}
            if outcome["status"] == "failed":
                outcome.update(retry_plan(previous, now, retry_after))
            conn.details = {**(conn.details or {}), "backfill": outcome}


BACKFILL_RETRIES = 6


def retry_plan(previous: dict, now: datetime, retry_after: float | None) -> dict:
    """When the sweeper should ask again: 5 min doubling to 6 h (or Garmin's Retry-After), then
    give up after BACKFILL_RETRIES attempts (the status says so; a reconnect starts over)."""
    attempts = int(previous.get("attempts", 0)) + 1
    if attempts > BACKFILL_RETRIES:
        return {"attempts": attempts, "status": "failed_permanently"}
    delay = max(retry_after or 0.0, min(300.0 * 2 ** (attempts - 1), 6 * 3600.0))
    return {"attempts": attempts, "next_at": (now + timedelta(seconds=delay)).isoformat()}
