"""A run as its provider describes it now, stored in one call.

A provider's ingest handler reads what it needs, calls the provider with no transaction open
(workers/ingest.py: read, release, call, write) and hands back an `Arrival`: the ingest job applies
it in the event's transaction, and this module stores the run (or refreshes the copy we hold) and
answers what to do after the commit (`Later`: the run and the later runs it sent back for
re-analysis). So an ingest enters the provider's package once, then the domain once.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.activities import store_track
from service.domain.reanalysis import Later
from service.models import Activity
from workers.parsing.track import INDOOR_SUB_SPORTS, Track


class Arrival(NamedTuple):
    """What a provider said of one run: a write (called with the event's session)."""

    athlete_id: str
    source: str  # the provider: "strava"
    provider_id: str  # the provider's activity id
    summary: Track  # title, sport, sub-sport, gear: what the provider's updates may change
    private: bool
    track: Track | None  # the recording; None for a run we held when the handler read
    status: str = "parsed"  # "history": a backfilled run, analysed with its whole history
    created: bool = False  # a live create: a backfilled copy of the run is analysed now

    def __call__(self, s: Session) -> Later:
        return store(s, self)


def store(s: Session, arrival: Arrival) -> Later:
    """Store the run, or refresh the copy we hold; what to analyse after the commit."""
    held = s.scalar(select(Activity).where(
        Activity.source == arrival.source, Activity.athlete_id == arrival.athlete_id,
        Activity.provider_activity_id == arrival.provider_id))
    if held is not None:
        return Later(runs=_refresh(held, arrival))
    if arrival.track is None:  # it went between the read and now: the next event brings it back
        return Later()
    result = store_track(s, arrival.athlete_id, arrival.track, arrival.source,
                         f"{arrival.source}:{arrival.provider_id}",
                         provider_activity_id=arrival.provider_id)
    if not result.created:
        return Later()  # the same run is already here from another source (upload, Garmin)
    row = s.get_one(Activity, result.created[0]["id"])
    row.private, row.status = arrival.private, arrival.status
    new = (row.id,) if arrival.status == "parsed" else ()
    return Later(runs=tuple(dict.fromkeys(new + tuple(result.again))),
                 deliveries=tuple(result.deliveries))


def _refresh(row: Activity, arrival: Arrival) -> tuple[str, ...]:
    """Title, type and privacy can change (the only updates a provider announces)."""
    summary = arrival.summary
    row.name = (summary.name or row.name or "")[:300] or None
    row.private = arrival.private
    row.gear_id = summary.gear_id
    changed = (row.sport, row.sub_sport) != (summary.sport, summary.sub_sport)
    if changed:
        row.sport, row.sub_sport = summary.sport, summary.sub_sport
        indoor = (summary.sub_sport or "") in INDOOR_SUB_SPORTS
        row.indoor = indoor
        row.metrics = {**(row.metrics or {}), "sport": summary.sport,
                       "sub_sport": summary.sub_sport, "indoor": indoor}
    if (arrival.created and row.status == "history") or (changed and row.status != "history"):
        row.status = "parsed"  # analyse it now (a live create met its backfilled copy)
        return (row.id,)
    return ()
