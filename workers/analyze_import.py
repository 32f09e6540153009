"""The analyze job of a bulk import: every day of an imported history in one pass per athlete.

`kneeguard import` stores thousands of runs and then enqueues this job once (instead of one
analyze job per run, each reloading the whole history). Days before `light_until` are evaluated
on a history read from plain columns only (distance, time, sport, gear): the import decoded
those old runs without their records, so terrain, route and dynamics rules have nothing to read
there, and leaving them out everywhere in that range keeps one partial baseline from raising a
false "novel descent". Days from `light_until` on are analysed exactly as the per-run job does
(`analyze.analyze_day`), so the recent weeks get the same findings as a file-by-file import.

With `deliver=False` (the early pass over the recent weeks, while the old years still load)
findings are stored but nothing is planned; the final pass plans deliveries for every finding
this import created (`since`), so the runner gets one email, not one per pass.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update

from service import deliveries
from service import runtime as runtime_mod
from service.metrics import JOBS
from service.models import Activity, Athlete, Finding
from workers.analysis import History, HistoryItem, Thresholds, evaluate
from workers.analyze import analyze_day, light_metrics, upsert_findings

log = logging.getLogger(__name__)


def analyze_import(athlete_id: str, first: str, last: str, light_until: str | None,
                   since: str, deliver: bool = True) -> None:
    rt = runtime_mod.current()
    with rt.db.session() as s:
        athlete = s.get(Athlete, athlete_id, with_for_update=True)
        if athlete is None:
            return
        days = _days(s, athlete_id, date.fromisoformat(first), date.fromisoformat(last))
        cut = date.fromisoformat(light_until) if light_until else None
        thresholds = Thresholds.from_mapping(dict(rt.settings.thresholds)).merged(
            athlete.thresholds or {})
        lost = _light_days(s, athlete_id, [d for d in days if cut and d < cut], thresholds)
        for day in (d for d in days if not cut or d >= cut):
            lost |= analyze_day(s, athlete, day, rt.settings.thresholds)[1]
        _mark_analyzed(s, athlete_id, days)
        planned = _plan(s, athlete, since, lost, rt.settings.notify_max_age_days) if deliver else []
        s.flush()
        delivery_ids = [d.id for d in planned]
    deliveries.enqueue(rt, delivery_ids)
    log.info("import analysed", extra={"athlete": athlete_id, "days": len(days),
                                       "deliveries": len(delivery_ids), "deliver": deliver})
    JOBS.labels("analyze_import", "ok").inc()


def _days(s, athlete_id: str, first: date, last: date) -> list[date]:
    """Days with a run in [first, last], plus every day with a run still waiting ('parsed')."""
    lo = datetime.combine(first, time(0), tzinfo=UTC)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    starts = s.scalars(select(Activity.start_time).where(
        Activity.athlete_id == athlete_id, Activity.metrics.is_not(None),
        ((Activity.start_time >= lo) & (Activity.start_time < hi))
        | (Activity.status == "parsed"))).all()
    return sorted({t.astimezone(UTC).date() for t in starts})


def _light_days(s, athlete_id: str, days: list[date], thresholds: Thresholds) -> set[str]:
    """One history from plain columns, evaluated for each day (a day's findings depend only on
    the runs up to it, so one History serves them all)."""
    if not days:
        return set()
    rows = s.execute(
        select(Activity.id, Activity.source, Activity.start_time, Activity.sport,
               Activity.sub_sport, Activity.indoor, Activity.manual, Activity.distance_m,
               Activity.moving_time_s, Activity.gear_id, Activity.loss_m)
        .where(Activity.athlete_id == athlete_id, Activity.metrics.is_not(None))
        .order_by(Activity.start_time)).all()
    history = History.build([HistoryItem(r.id, r.source, light_metrics(r)) for r in rows])
    lost: set[str] = set()
    for day in days:
        lost |= upsert_findings(s, athlete_id, day, evaluate(history, day, thresholds))[1]
    return lost


def _mark_analyzed(s, athlete_id: str, days: list[date]) -> None:
    if not days:
        return
    lo = datetime.combine(days[0], time(0), tzinfo=UTC)
    hi = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=UTC)
    s.execute(update(Activity).where(
        Activity.athlete_id == athlete_id, Activity.status == "parsed",
        Activity.start_time >= lo, Activity.start_time < hi,
    ).values(status="analyzed", error=None))


def _plan(s, athlete: Athlete, since: str, lost: set[str], max_age: int | None) -> list:
    """Deliveries for every finding this import created (both passes), one email in all."""
    created = s.scalars(select(Finding).where(
        Finding.athlete_id == athlete.id,
        Finding.created_at >= datetime.fromisoformat(since))).all()
    planned = deliveries.plan_findings(s, athlete, list(created), notify_max_age_days=max_age)
    planned += deliveries.plan_note_refresh(s, athlete, lost)
    if deliveries.endpoints_for(s, athlete.id, "activity.analyzed"):  # as the per-run job
        planned += _analyzed_events(s, athlete.id, since, created)
    return planned


def _analyzed_events(s, athlete_id: str, since: str, findings: list[Finding]) -> list:
    by_activity: dict[str, list[str]] = {}
    for f in findings:
        if f.activity_id:
            by_activity.setdefault(f.activity_id, []).append(f.id)
    ids = s.scalars(select(Activity.id).where(
        Activity.athlete_id == athlete_id,
        Activity.created_at >= datetime.fromisoformat(since))).all()
    planned = []
    for activity_id in ids:
        planned += deliveries.plan_event(
            s, athlete_id, "activity.analyzed",
            {"activity_id": activity_id, "athlete_id": athlete_id,
             "finding_ids": by_activity.get(activity_id, [])}, key=activity_id)
    return planned
