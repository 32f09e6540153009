"""One run, several copies: which copy is kept, what its id is, and how a richer copy takes over.

A run can reach us as a FIT file, a GPX export of it, Strava streams, or a summary. Whatever the
order they arrive in, the history keeps one activity, the richest copy (FIT over GPX over streams
over a summary; then more samples), and its id comes from that copy's content. So two arrival
orders end with the same activity id and, since finding ids come from it (service.domain.findings
`finding_id`), the same finding ids: integrators never see a run's findings under two ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from service.domain import deliveries
from service.models import Activity, Delivery, Finding, RawFile

FORMAT_RANK = {"fit": 3, "gpx": 2, "streams": 1}  # anything else (a summary): 0


@dataclass(frozen=True)
class Copy:
    """What decides between two copies of one run (stored as metrics["copy"])."""

    format: str | None
    samples: int

    def as_dict(self) -> dict:
        return {"format": self.format, "samples": self.samples}

    def rank(self, distance_m: float) -> tuple:
        return (FORMAT_RANK.get(self.format or "", 0), self.samples, round(distance_m or 0.0))


def copy_of_track(track) -> Copy:
    timestamps = getattr(track, "timestamps", None)
    return Copy(getattr(track, "format", None), int(getattr(timestamps, "size", 0) or 0))


def stored_copy(activity: Activity) -> Copy:
    """The stored activity's copy; rows from before it was recorded: guessed from the file name."""
    info = (activity.metrics or {}).get("copy")
    if isinstance(info, dict):
        return Copy(info.get("format"), int(info.get("samples") or 0))
    name = (activity.file_name or "").lower().removesuffix(".gz")
    guessed = next((f for f in ("fit", "gpx") if name.endswith("." + f)), None)
    if guessed is None and activity.source == "strava" and not activity.manual:
        guessed = "streams"
    return Copy(guessed, 0)


def is_richer(new: Copy, new_distance_m: float, old: Activity) -> bool:
    return new.rank(new_distance_m) > stored_copy(old).rank(old.distance_m)


def activity_id(athlete_id: str, copy: Copy, start: datetime, distance_m: float) -> str:
    """The same copy of the same run always gets the same id, whichever container (a file, an
    archive member, a provider) and whichever order it came in."""
    key = f"{athlete_id}|{copy.format}|{start.strftime('%Y-%m-%dT%H:%M:%S')}|" \
          f"{round(distance_m or 0.0)}"
    return "act_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def lock_history(s: Session, athlete_id: str) -> None:
    """Serialise "is this run already here?" per athlete until the commit, so two copies of one
    run uploaded at the same moment cannot both find nothing and both be stored (PostgreSQL;
    SQLite has one writer, and a stale read fails the write and is retried)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"history:{athlete_id}".encode()).digest()[:8], "big",
                         signed=True)
    s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def retire(s: Session, old: Activity) -> list[str]:
    """Remove a copy that a richer one replaces: its findings are withdrawn (integrators told,
    same ids), messages about it that never left are cancelled, its raw file goes when nothing
    else was read from it. Returns the planned delivery ids (enqueue after the commit)."""
    stale = s.scalars(select(Finding).where(Finding.activity_id == old.id)).all()
    planned = deliveries.plan_withdrawn(s, stale, reason="replaced")
    if stale:
        s.execute(delete(Finding).where(Finding.id.in_([f.id for f in stale])))
    _cancel_unsent(s, old)
    raw_id = old.raw_file_id
    s.delete(old)
    s.flush()
    if raw_id and not s.scalar(select(func.count()).select_from(Activity)
                               .where(Activity.raw_file_id == raw_id)):
        s.execute(delete(RawFile).where(RawFile.id == raw_id))
    return [d.id for d in planned]


def _cancel_unsent(s: Session, old: Activity) -> None:
    """`activity.analyzed` (and the like) about the retired copy that no attempt has sent."""
    pending = s.scalars(select(Delivery).where(Delivery.athlete_id == old.athlete_id,
                                               Delivery.status == "pending",
                                               Delivery.attempt_count == 0)).all()
    hit = [d.id for d in pending if ((d.payload or {}).get("data") or d.payload or {})
           .get("activity_id") == old.id]
    if hit:
        s.execute(update(Delivery).where(Delivery.id.in_(hit))
                  .values(status="cancelled", next_attempt_at=None))
