"""A runner's knee load for the API, the pages and the club member page: one data function over
the stored runs (their stored knee-km; runs not analysed yet are weighed from their totals, low
confidence). The arithmetic is the engine's (`workers.analysis.kneetolerance.load_view`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Activity, Athlete
from workers.analysis import ActivityMetrics, ElevationMetrics, HistoryItem, Thresholds
from workers.analysis.history import History, day_number
from workers.analysis.kneeload import KneeMetrics
from workers.analysis.kneetolerance import LONG_WEEKS, load_view

# The tolerance of the first week shown reads 51 weeks before it; a run's knee-km its 90 days.
LOOKBACK_DAYS = 7 * LONG_WEEKS + 7 + 90
COLUMNS = (Activity.id, Activity.source, Activity.start_time, Activity.sport, Activity.sub_sport,
           Activity.indoor, Activity.manual, Activity.distance_m, Activity.moving_time_s,
           Activity.loss_m, Activity.knee_load_km,
           Activity.metrics["utc_offset_s"].as_float().label("utc_offset_s"))


def athlete_load(s: Session, athlete_id: str, as_of: date, weeks: int = 12,
                 deployment: dict | None = None) -> dict:
    """Daily and weekly knee load with the tolerance, for the `weeks` weeks up to `as_of`."""
    athlete = s.get(Athlete, athlete_id)
    cfg = Thresholds.from_mapping(dict(deployment or {})).merged(
        (athlete.thresholds if athlete else None) or {})
    since = datetime.combine(as_of - timedelta(days=7 * weeks + LOOKBACK_DAYS), time(0), UTC)
    until = datetime.combine(as_of + timedelta(days=1), time(0), UTC)
    rows = s.execute(select(*COLUMNS).where(
        Activity.athlete_id == athlete_id, Activity.metrics.is_not(None),
        Activity.start_time >= since, Activity.start_time < until)
        .order_by(Activity.start_time)).all()
    h = History.build([HistoryItem(r.id, r.source, stored(r)) for r in rows])
    view = load_view(h, cfg, day_number(as_of), weeks)
    return {"athlete_id": athlete_id, "as_of": as_of.isoformat(), **view}


def stored(r) -> ActivityMetrics:
    return ActivityMetrics(
        start_time=r.start_time, sport=r.sport, sub_sport=r.sub_sport, indoor=r.indoor,
        manual=r.manual, distance_m=r.distance_m, moving_time_s=r.moving_time_s,
        elevation=ElevationMetrics(loss_m=r.loss_m or 0.0),
        utc_offset_s=r.utc_offset_s, knee=KneeMetrics(load_km=r.knee_load_km))
