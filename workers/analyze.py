"""The analyze job: recompute an athlete's findings for one activity's day from stored history.

Idempotent: findings are upserted on (athlete, rule, date, subject), so a re-run updates in place and
never creates a second finding (nor, downstream, a second delivery). What the runner is told of
them is grouped in service/domain/grouping.py.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.domain import deliveries, grouping
from service.infra import jobs, transient
from service.infra import runtime as runtime_mod
from service.infra.metrics import JOBS
from service.models import Activity, Athlete, Delivery, Finding
from workers.analysis import ActivityMetrics, ElevationMetrics, HistoryItem, Thresholds, evaluate
from workers.analysis.history import History, local_offset
from workers.analysis.kneeload import KneeMetrics
from workers.analysis.kneetolerance import series
from workers.analysis.severity import rank
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
        day = analyze_day(s, athlete, local_date(activity), rt.settings.thresholds)
        activity.knee_load_km = day.knee_km.get(activity.id, activity.knee_load_km)
        activity.status = "analyzed"
        activity.error = None
        planned = deliveries.plan_findings(
            s, athlete, day.created, notify_max_age_days=rt.settings.notify_max_age_days,
            escalated=day.escalated, lost=day.lost, day_activity=activity.id)
        planned += day.withdrawn
        planned += deliveries.plan_event(s, athlete.id, "activity.analyzed",
                                         analyzed_data(activity, day.created), key=activity.id)
        s.flush()
        delivery_ids = [d.id for d in planned]
    # Committed: now hand the messages to the notify queue (the sweeper backs this up).
    for delivery_id in delivery_ids:
        jobs.deliver(rt, delivery_id)
    log.info("analysed", extra={"activity": activity_id, "deliveries": len(delivery_ids)})
    JOBS.labels("analyze", "ok").inc()


def analyzed_data(activity: Activity, findings: list[Finding]) -> dict:
    """The activity.analyzed payload (schema: workers/notify/schemas); `sources` lets the one
    authorization check keep Strava-derived runs from clubs and integrators."""
    sources = {activity.source} | {src for f in findings for src in (f.sources or [])}
    return {"activity_id": activity.id, "athlete_id": activity.athlete_id,
            "source": activity.source, "sport": activity.sport or "unknown",
            "sub_sport": activity.sub_sport,
            "start_time": activity.start_time.isoformat().replace("+00:00", "Z"),
            "distance_m": max(activity.distance_m or 0.0, 0.0),
            "moving_time_s": activity.moving_time_s, "indoor": bool(activity.indoor),
            "elevation_loss_m": None if activity.loss_m is None else max(activity.loss_m, 0.0),
            "knee_load_km": activity.knee_load_km,
            "finding_ids": [f.id for f in findings], "sources": sorted(sources)}


def finding_id(athlete_id: str, rule: str, day: date, subject: str) -> str:
    """The same (athlete, rule, date, subject) always gets the same id, so a finding that a
    re-analysis drops and a later one finds again is still the finding integrators were sent."""
    key = f"{athlete_id}|{rule}|{day.isoformat()}|{subject}".encode()
    return "fnd_" + hashlib.sha256(key).hexdigest()[:32]


def local_date(activity: Activity) -> date:
    """The run's local calendar day (the rules' days are local: FIT/Strava/Garmin offset)."""
    offset = (activity.metrics or {}).get("utc_offset_s")
    start = activity.start_time if activity.start_time.tzinfo else activity.start_time.replace(
        tzinfo=UTC)
    return (start.astimezone(UTC) + timedelta(seconds=local_offset(offset))).date()


class Upserted(NamedTuple):
    """What one day's upsert changed: new findings, activities whose note showed a finding that
    went, findings now more severe than before (news to the runner, not to integrators:
    `finding.created` is sent once per id), and the `finding.withdrawn` deliveries planned for
    the findings that went (the caller enqueues them after its commit)."""

    created: list[Finding]
    lost: set[str]
    escalated: list[Finding]
    withdrawn: list[Delivery]
    knee_km: dict[str, float] = {}  # knee-km of the day's runs (activity id -> knee-km)


def analyze_day(s: Session, athlete: Athlete, day: date, deployment: Mapping[str, Any]) -> Upserted:
    h = History.build(load_history(s, athlete.id, day))
    thresholds = Thresholds.from_mapping(dict(deployment)).merged(athlete.thresholds or {})
    results = evaluate(h, day, thresholds)
    return upsert_findings(s, athlete.id, day, results)._replace(knee_km=knee_load_of_day(h, day))


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


def upsert_findings(s: Session, athlete_id: str, day: date, results) -> Upserted:
    """Insert new findings, update changed ones, drop the day's findings that no longer hold.
    A finding that gets more severe (a weekly jump that a late file turns from info into a
    caution) is `escalated`."""
    existing = {(f.rule, f.subject): f for f in s.scalars(
        select(Finding).where(Finding.athlete_id == athlete_id, Finding.date == day))}
    created: list[Finding] = []
    escalated: list[Finding] = []
    seen = set()
    for r in results:
        key = (r.rule, r.activity or "day")
        seen.add(key)
        row = existing.get(key)
        if row is None:
            row = Finding(id=finding_id(athlete_id, r.rule, day, key[1]), athlete_id=athlete_id,
                          activity_id=r.activity, subject=key[1], rule=r.rule, date=day)
            s.add(row)
            created.append(row)
        elif rank(r.severity, 0) > rank(row.severity, 0):
            escalated.append(row)
        row.severity, row.value, row.threshold = r.severity, r.value, r.threshold
        row.message, row.evidence, row.sources = r.message, r.evidence, list(r.sources)
    stale = [f for k, f in existing.items() if k not in seen]
    lost, withdrawn = _withdraw(s, athlete_id, stale)
    s.flush()
    return Upserted(created, lost, escalated, withdrawn)


def _withdraw(s: Session, athlete_id: str, stale: list[Finding]) -> tuple[set[str], list[Delivery]]:
    """Delete findings that no longer hold, after planning to tell integrators (same ids).
    Returns the activities whose note may now say too much (the runs the findings were about,
    and the runs whose note carried a day finding) and the `finding.withdrawn` rows planned."""
    if not stale:
        return set(), []
    withdrawn = deliveries.plan_withdrawn(s, stale)
    lost = {f.activity_id for f in stale if f.activity_id}
    lost |= grouping.noted_activities(s, athlete_id, [f for f in stale if not f.activity_id])
    s.execute(delete(Finding).where(Finding.id.in_([f.id for f in stale])))
    return lost, withdrawn
