"""The analyze job: recompute an athlete's findings for one activity's day from stored history.

The job reads the history and evaluates the rules (workers.analysis), then hands the day's results
to the domain in one call (service.domain.findings.record: findings upserted, every delivery
planned, `activity.analyzed` included) and enqueues the deliveries after the commit. Idempotent:
findings are upserted on (athlete, rule, date, subject), so a re-run updates in place and never
creates a second finding (nor, downstream, a second delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import findings
from service.infra import jobs, transient
from service.infra import runtime as runtime_mod
from service.infra.metrics import JOBS
from service.models import Activity, Athlete
from workers.analysis import ActivityMetrics, ElevationMetrics, HistoryItem, Thresholds, evaluate
from workers.analysis.history import History, local_offset
from workers.analysis.kneeload import KneeMetrics
from workers.analysis.kneetolerance import series
from workers.analysis.windows import FULL_METRICS_DAYS

log = logging.getLogger(__name__)


def analyze_activity(activity_id: str) -> None:
    rt = runtime_mod.current()
    what = f"analyze:{activity_id}"
    try:
        transient.retrying(lambda: _analyze(rt, activity_id), what)
        transient.forget(rt, what)
    except Exception as exc:
        if transient.is_transient(exc) and not transient.persisting(rt, what):
            # The row stays `parsed`: the sweeper offers it again next round (the next backoff).
            log.warning("analysis deferred: transient error", extra={
                "activity": activity_id, "error": f"{type(exc).__name__}: {exc}"[:300]})
            JOBS.labels("analyze", "retry").inc()
            return
        # Record and stop: an analysis that crashes would crash again on every sweep.
        log.exception("analysis failed", extra={"activity": activity_id})
        _mark_failed(rt, activity_id, exc)
        JOBS.labels("analyze", "failed").inc()


def _mark_failed(rt, activity_id: str, exc: Exception) -> None:
    with rt.db.session() as s:
        activity = s.get(Activity, activity_id)
        if activity is not None and activity.status in ("parsed", "analyzed"):
            activity.status, activity.error = "failed", f"{type(exc).__name__}: {exc}"[:500]


def _analyze(rt, activity_id: str) -> None:
    with rt.db.session() as s:
        activity = s.get(Activity, activity_id)
        if activity is None or activity.status not in ("parsed", "analyzed"):
            JOBS.labels("analyze", "skipped").inc()
            return
        # One analysis per athlete at a time (PostgreSQL row lock; SQLite serialises writers).
        athlete = s.get(Athlete, activity.athlete_id, with_for_update=True)
        day = local_date(activity)
        results, knee_km = evaluate_day(s, athlete, day, rt.settings.thresholds)
        delivery_ids = findings.record(s, athlete, activity, day, results, knee_km,
                                       notify_max_age_days=rt.settings.notify_max_age_days)
    # Committed: now hand the messages to the notify queue (the sweeper backs this up).
    for delivery_id in delivery_ids:
        jobs.deliver(rt, delivery_id)
    log.info("analysed", extra={"activity": activity_id, "deliveries": len(delivery_ids)})
    JOBS.labels("analyze", "ok").inc()


def local_date(activity: Activity) -> date:
    """The run's local calendar day (the rules' days are local: FIT/Strava/Garmin offset)."""
    offset = (activity.metrics or {}).get("utc_offset_s")
    start = activity.start_time if activity.start_time.tzinfo else activity.start_time.replace(
        tzinfo=UTC)
    return (start.astimezone(UTC) + timedelta(seconds=local_offset(offset))).date()


def evaluate_day(s: Session, athlete: Athlete, day: date,
                 deployment: Mapping[str, Any]) -> tuple[list, dict[str, float]]:
    """The rules' results for the athlete's local `day`, and the knee-km of the day's runs."""
    h = History.build(load_history(s, athlete.id, day))
    thresholds = Thresholds.from_mapping(dict(deployment)).merged(athlete.thresholds or {})
    return evaluate(h, day, thresholds), knee_load_of_day(h, day)


def analyze_day(s: Session, athlete: Athlete, day: date,
                deployment: Mapping[str, Any]) -> findings.Upserted:
    """The findings of one day upserted, nothing planned (the import's job plans for all days)."""
    results, _knee_km = evaluate_day(s, athlete, day, deployment)
    return findings.upsert_findings(s, athlete.id, day, results)


def knee_load_of_day(h: History, day: date) -> dict[str, float]:
    """Knee-km of the runs on `day` (local), by activity id, rounded for storage."""
    from workers.analysis.history import day_number

    sel = h.days(day_number(day), day_number(day))
    km = series(h).run_km
    return {h.items[i].id: round(float(km[i]), 3) for i in range(sel.start, sel.stop)}


def load_history(s: Session, athlete_id: str, day: date | None = None) -> list[HistoryItem]:
    cutoff = (datetime.combine(day, time(0), tzinfo=UTC) - timedelta(days=FULL_METRICS_DAYS)
              if day else None)
    old = [] if cutoff is None else s.execute(
        select(*LIGHT_COLUMNS)
        .where(Activity.athlete_id == athlete_id, Activity.metrics.is_not(None),
               Activity.start_time < cutoff)
        .order_by(Activity.start_time)).all()
    recent = select(Activity.id, Activity.source, Activity.metrics).where(
        Activity.athlete_id == athlete_id, Activity.metrics.is_not(None))
    if cutoff is not None:
        recent = recent.where(Activity.start_time >= cutoff)
    rows = s.execute(recent.order_by(Activity.start_time)).all()
    return [HistoryItem(r.id, r.source, light_metrics(r)) for r in old] + [
        HistoryItem(r.id, r.source, ActivityMetrics.from_dict(r.metrics)) for r in rows]


# What distance-based rules read of an old run: plain columns, and the UTC offset (one JSON key)
# so its local day is the same as when it was recent.
LIGHT_COLUMNS = (Activity.id, Activity.source, Activity.start_time, Activity.sport,
                 Activity.sub_sport, Activity.indoor, Activity.manual, Activity.distance_m,
                 Activity.moving_time_s, Activity.gear_id, Activity.loss_m, Activity.knee_load_km,
                 Activity.metrics["utc_offset_s"].as_float().label("utc_offset_s"))


def light_metrics(r) -> ActivityMetrics:
    return ActivityMetrics(
        start_time=r.start_time, sport=r.sport, sub_sport=r.sub_sport, indoor=r.indoor,
        manual=r.manual, distance_m=r.distance_m, moving_time_s=r.moving_time_s,
        gear_id=r.gear_id, elevation=ElevationMetrics(loss_m=r.loss_m or 0.0),
        utc_offset_s=r.utc_offset_s, knee=KneeMetrics(load_km=r.knee_load_km))


