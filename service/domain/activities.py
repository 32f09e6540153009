"""Activities in: raw bytes → stored raw file → parsed Tracks → activity rows with metrics.

Used by the upload API, `kneeguard import` and the provider jobs. The web side may import the pure
parsing and analysis libraries (no Flask/DB inside them); it never imports job modules.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.domain import policy, same_run
from service.infra import jobs, transient
from service.infra.finite import finite, scrub
from service.models import Activity, RawFile, utcnow
from workers.parsing.track import InvalidFile, Track

log = logging.getLogger(__name__)

# The same run from another source: start ±60 s and distance ±1%. Distances of one recording differ
# by more than that across formats (a watch's FIT total vs the GPX export's GPS path: 1.06% on the
# sportslib pair in shared/data), so a matching duration (±1%) with distance ±5% also counts.
DUPLICATE_WINDOW = timedelta(seconds=60)
DUPLICATE_DISTANCE = 0.01
DUPLICATE_DURATION = 0.01
DUPLICATE_DISTANCE_WITH_DURATION = 0.05


@dataclass
class IngestResult:
    created: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    # Analysed runs that the new ones sent back to `parsed` (reanalysis): not in the answer.
    again: list[str] = field(default_factory=list)
    # Deliveries planned on the way (findings of a replaced copy withdrawn): sent after the commit.
    deliveries: list[str] = field(default_factory=list)

    def extend(self, other: IngestResult) -> None:
        self.created += other.created
        self.duplicates += other.duplicates
        self.skipped += other.skipped
        self.again += other.again
        self.deliveries += other.deliveries

    def as_dict(self) -> dict:
        return {"activities": self.created, "duplicates": self.duplicates, "skipped": self.skipped}


def ingest_one(s: Session, athlete_id: str, filename: str, data: bytes) -> IngestResult:
    """One file of a batch, in its own savepoint: whatever the file makes our code throw (a parser
    bug, an odd value) becomes a recorded skip and the rest of the batch is stored. An error of
    the database, the queue or the disk is never blamed on the file: it fails the whole request
    (nothing of it is kept) and the client is told to retry (503, service.infra.transient)."""
    try:
        with s.begin_nested():
            return ingest_bytes(s, athlete_id, filename, data, source=guess_source(data))
    except Exception as exc:
        if transient.is_infrastructure(exc):
            raise
        log.exception("file could not be stored", extra={"file": filename[:200]})
        return IngestResult(skipped=[{"file": filename, "reason": "the file could not be "
                                      f"processed ({type(exc).__name__}); it was logged"}])


def ingest_bytes(s: Session, athlete_id: str, filename: str, data: bytes,
                 source: str = "upload") -> IngestResult:
    """Parse one file or archive and store what is new. Invalid input becomes a skip, never an
    exception, and nothing of an invalid file is stored.

    Bytes already stored answer `duplicate` with their activities before anything is parsed.
    Bytes that gave no activity of their own (every run in them was already here) are not kept:
    sent again, they are parsed again and answer `duplicate` with the runs they matched."""
    sha = hashlib.sha256(data).hexdigest()
    known, answer = identical_bytes(s, athlete_id, sha, filename)
    if answer is not None:
        return answer
    from workers.parsing import parse_bytes

    try:
        parsed = parse_bytes(data, filename)
    except InvalidFile as exc:
        return IngestResult(skipped=[{"file": filename, "reason": str(exc)}])
    result = IngestResult(skipped=[{"file": k.file, "reason": k.reason} for k in parsed.skipped])
    if not parsed.tracks:
        if not result.skipped:
            result.skipped.append({"file": filename, "reason": "no activity found in the file"})
        return result
    raw = known or _new_raw(s, athlete_id, source, filename, sha, data)
    if not isinstance(raw, RawFile):
        return raw  # the same bytes, stored by a concurrent upload a moment ago
    for leg, track in enumerate(parsed.tracks):
        result.extend(store_track(s, athlete_id, track, source, filename, raw_file_id=raw.id,
                                  leg=leg))
    if not result.created:
        s.delete(raw)  # every run in it was already here: nothing to keep the bytes for
        s.flush()
    return result


def _new_raw(s: Session, athlete_id: str, source: str, filename: str, sha: str,
             data: bytes) -> RawFile | IngestResult:
    try:
        # A savepoint: the same bytes uploaded twice at the same moment meet at the unique
        # (athlete, sha256) key; the loser answers "duplicate" instead of failing the request.
        with s.begin_nested():
            raw = RawFile(athlete_id=athlete_id, source=source, filename=filename[:500],
                          sha256=sha, size=len(data), data=data,
                          expires_at=policy.raw_expiry(source, utcnow()))
            s.add(raw)
            s.flush()
            return raw
    except IntegrityError:
        known = s.scalar(select(RawFile).where(RawFile.athlete_id == athlete_id,
                                               RawFile.sha256 == sha))
        if known is None:
            raise
        return _same_bytes(s, known, filename)


def store_track(s: Session, athlete_id: str, track: Track, source: str, filename: str, *,
                raw_file_id: str | None = None, leg: int = 0,
                provider_activity_id: str | None = None) -> IngestResult:
    label = getattr(track, "source_file", None) or track.name or filename
    copy = same_run.copy_of_track(track)
    twin = find_duplicate(s, athlete_id, track)
    if twin is not None and not same_run.is_richer(copy, track.distance_m, twin):
        return _duplicate(label, twin)
    from workers.analysis import compute_metrics

    metrics = compute_metrics(track).to_dict()
    # A file without elevation, times or distance gives NaN somewhere: store "unknown" instead
    # (0 for the two NOT NULL totals, as the parsers do when a file has no times at all).
    distance_m, moving_s = finite(track.distance_m, 0.0), finite(track.moving_time_s, 0.0)
    metrics.update(scrub(metrics), distance_m=distance_m, moving_time_s=moving_s,
                   copy=copy.as_dict())
    # The file's name when there was a file; a run fetched from an API has none (not its title).
    file_name = getattr(track, "source_file", None) or (filename if raw_file_id else None)
    replaced = _retire(s, twin)
    activity = _add(s, athlete_id, source, raw_file_id, leg, provider_activity_id, dict(
        file_name=file_name and file_name[:500], name=_cut(track.name, 300),
        start_time=track.start_time, sport=_cut(track.sport, 40),
        sub_sport=_cut(track.sub_sport, 40), distance_m=distance_m, moving_time_s=moving_s,
        indoor=track.indoor, manual=track.manual, gear_id=_cut(track.gear_id, 64),
        metrics=metrics, loss_m=finite((metrics.get("elevation") or {}).get("loss_m"))))
    again = reanalyze_later(s, athlete_id, [activity.start_time])
    planned = replaced.pop("_deliveries", [])
    return IngestResult(created=[dict(summary(activity), **replaced)], again=again,
                        deliveries=planned)


def _duplicate(label: str, twin: Activity) -> IngestResult:
    return IngestResult(duplicates=[{"file": label, "activity": twin.id,
                                     "reason": f"same run as {twin.id} ({twin.source})"}])


def _retire(s: Session, twin: Activity | None) -> dict:
    """A poorer copy of the run the new one replaces (its GPX export before the FIT)."""
    if twin is None:
        return {}
    twin_id = twin.id
    planned = same_run.retire(s, twin)
    return {"replaces": twin_id, "_deliveries": planned}


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if isinstance(value, str) else value


def store_measured(s: Session, athlete_id: str, run: dict, source: str, *,
                   raw_file_id: str | None, leg: int) -> IngestResult:
    """Store a run measured elsewhere (the import's process pool: `workers.import_parse`).
    The caller re-marks later days for analysis once for the whole batch."""
    measured = _Measured(run)
    copy = same_run.Copy(**run["metrics"]["copy"]) if "copy" in run["metrics"] else \
        same_run.Copy(None, 0)
    twin = find_duplicate(s, athlete_id, measured)
    if twin is not None and not same_run.is_richer(copy, measured.distance_m, twin):
        return _duplicate(run["label"], twin)
    replaced = _retire(s, twin)
    fields = {k: v for k, v in run.items() if k != "label"}
    activity = _add(s, athlete_id, source, raw_file_id, leg, None,
                    dict(fields, file_name=run["label"][:500]))
    planned = replaced.pop("_deliveries", [])
    return IngestResult(created=[dict(summary(activity), **replaced)], deliveries=planned)


class _Measured:
    """What find_duplicate reads of a Track, from a measured run's fields."""

    def __init__(self, run: dict) -> None:
        self.start_time: datetime = run["start_time"]
        self.distance_m: float = run["distance_m"]
        self.moving_time_s: float = run["moving_time_s"]


def _add(s: Session, athlete_id: str, source: str, raw_file_id: str | None, leg: int,
         provider_activity_id: str | None, fields: dict) -> Activity:
    copy = same_run.Copy(**(fields.get("metrics") or {}).get("copy", {"format": None,
                                                                       "samples": 0}))
    activity = Activity(id=same_run.activity_id(athlete_id, copy, fields["start_time"],
                                                fields.get("distance_m") or 0.0),
                        athlete_id=athlete_id, source=source, raw_file_id=raw_file_id, leg=leg,
                        provider_activity_id=provider_activity_id, status="parsed",
                        expires_at=policy.derived_expiry(source, utcnow()), **fields)
    s.add(activity)
    s.flush()
    return activity


def find_duplicate(s: Session, athlete_id: str, track: Track | _Measured) -> Activity | None:
    same_run.lock_history(s, athlete_id)
    start = track.start_time
    candidates = s.scalars(select(Activity).where(
        Activity.athlete_id == athlete_id,
        Activity.start_time >= start - DUPLICATE_WINDOW,
        Activity.start_time <= start + DUPLICATE_WINDOW,
    )).all()
    distance, duration = finite(track.distance_m, 0.0), finite(track.moving_time_s, 0.0)
    for other in candidates:
        d_rel = abs(other.distance_m - distance) / max(distance, other.distance_m, 1.0)
        t_rel = abs(other.moving_time_s - duration) / max(duration, other.moving_time_s, 1.0)
        if d_rel <= DUPLICATE_DISTANCE or (
                duration > 0 and t_rel <= DUPLICATE_DURATION
                and d_rel <= DUPLICATE_DISTANCE_WITH_DURATION):
            return other
    return None


def reanalyze_later(s: Session, athlete_id: str, changed_starts: list) -> list[str]:
    """Runs added to or removed from a history change the verdicts of later days: mark them for
    re-analysis (windows from the rules themselves: service.domain.reanalysis); returns their
    ids, to enqueue after the commit."""
    from service.domain.reanalysis import reanalyze_later as mark

    return mark(s, athlete_id, changed_starts)


def summary(activity: Activity) -> dict:
    return {
        "id": activity.id, "file": activity.file_name, "source": activity.source,
        "sport": activity.sport, "sub_sport": activity.sub_sport,
        "start_time": activity.start_time.isoformat(),
        "distance_m": round(activity.distance_m, 1), "status": activity.status,
        "knee_load_km": None if activity.knee_load_km is None else round(activity.knee_load_km, 2),
    }


def descent(metrics: dict | None) -> dict | None:
    """The descent figures of an analysed run (issue 22): what the rules use (`loss_m`), where it
    came from (`loss_source`: the device's own total or the samples), the estimate from the
    samples (`samples_loss_m`) and the device's total (`device_loss_m`, when the file had one).
    None before the run is analysed or without altitude."""
    e = (metrics or {}).get("elevation") or {}
    if not e or e.get("altitude_source", "none") == "none":
        return None
    return {"loss_m": e.get("loss_m"), "samples_loss_m": e.get("engine_loss_m"),
            "device_loss_m": e.get("device_loss_m"), "loss_source": e.get("loss_source"),
            "altitude_source": e.get("altitude_source")}


def guess_source(data: bytes) -> str:
    """An archive's origin from its layout: Strava's bulk export has activities.csv, Garmin's
    holds nested zips (DI_CONNECT/…); anything else is a plain upload."""
    if not data.startswith(b"PK"):
        return "upload"
    return guess_archive_source(io.BytesIO(data))


def guess_archive_source(fileobj) -> str:
    """guess_source for an archive given as a path or an open file (read lazily)."""
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return "upload"
    if any(n.rsplit("/", 1)[-1] == "activities.csv" for n in names):
        return "strava_export"
    if any(n.lower().endswith(".zip") or "DI_CONNECT" in n for n in names):
        return "garmin_export"
    return "upload"


def identical_bytes(s: Session, athlete_id: str, sha: str,
                    filename: str) -> tuple[RawFile | None, IngestResult | None]:
    """Identical bytes are recognised first, always (issue 24), by every intake path (uploads,
    `kneeguard import` file by file and pooled) before anything is decoded: (the stored raw
    file, `duplicate` with the activities these bytes gave). The answer is None when the bytes
    are new or stored without an activity of their own (a row of an older version, or an
    earlier attempt that failed): those are decoded again, since what failed may have been the
    infrastructure, not the file."""
    known = s.scalar(select(RawFile).where(RawFile.athlete_id == athlete_id, RawFile.sha256 == sha))
    if known is None:
        return None, None
    answer = _same_bytes(s, known, filename)
    return known, (answer if answer.duplicates else None)


def _raw_activities(s: Session, raw: RawFile) -> list[str]:
    return list(s.scalars(select(Activity.id).where(Activity.raw_file_id == raw.id)
                          .order_by(Activity.leg)))


def _same_bytes(s: Session, raw: RawFile, filename: str) -> IngestResult:
    ids = _raw_activities(s, raw)
    return IngestResult(duplicates=[{"file": filename, "activity": i,
                                     "reason": "this exact file was already imported"}
                                    for i in ids])


def enqueue_analysis(runtime, result: IngestResult) -> None:
    """After the commit: one analyze job per new activity, then one per later run it sent back
    to `parsed` (each at most once; the sweeper backs this up)."""
    for activity_id in dict.fromkeys([item["id"] for item in result.created] + result.again):
        jobs.analyze_activity(runtime, activity_id)
    for delivery_id in result.deliveries:
        jobs.deliver(runtime, delivery_id)
