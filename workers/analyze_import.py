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

from service.domain import deliveries
from service.domain.findings import Upserted, analyzed_data, upsert_findings
from service.infra import runtime as runtime_mod
from service.infra.metrics import JOBS
from service.models import Activity, Athlete, Finding
from workers.analysis import History, HistoryItem, Thresholds, evaluate
from workers.analysis.history import local_offset
from workers.analyze import LIGHT_COLUMNS, analyze_day, light_metrics

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
        done = _light_days(s, athlete_id, [d for d in days if cut and d < cut], thresholds)
        done += [analyze_day(s, athlete, day, rt.settings.thresholds)
                 for day in days if not cut or day >= cut]
        _mark_analyzed(s, athlete_id, days)
        planned = _plan(s, athlete, since, done, rt.settings.notify_max_age_days) if deliver else []
        s.flush()
        delivery_ids = [d.id for d in planned]
    deliveries.enqueue(rt, delivery_ids)
    log.info("import analysed", extra={"athlete": athlete_id, "days": len(days),
                                       "deliveries": len(delivery_ids), "deliver": deliver})
    JOBS.labels("analyze_import", "ok").inc()


def _days(s, athlete_id: str, first: date, last: date) -> list[date]:
    """Local days with a run in [first, last], plus every day with a run still waiting ('parsed').
    Local as the per-run job's (`analyze.local_date`): a 22:00 UTC run in UTC+2 is tomorrow's."""
    lo = datetime.combine(first - timedelta(days=1), time(0), tzinfo=UTC)
    hi = datetime.combine(last + timedelta(days=2), time(0), tzinfo=UTC)
    rows = s.execute(select(Activity.start_time, Activity.metrics["utc_offset_s"].as_float())
                     .where(Activity.athlete_id == athlete_id, Activity.metrics.is_not(None),
                            ((Activity.start_time >= lo) & (Activity.start_time < hi))
                            | (Activity.status == "parsed"))).all()
    days = {(t.astimezone(UTC) + timedelta(seconds=local_offset(offset))).date()
            for t, offset in rows}
    return sorted(days)


def _light_days(s, athlete_id: str, days: list[date], thresholds: Thresholds) -> list[Upserted]:
    """One history from plain columns, evaluated for each day (a day's findings depend only on
    the runs up to it, so one History serves them all)."""
    if not days:
        return []
    rows = s.execute(
        select(*LIGHT_COLUMNS)
        .where(Activity.athlete_id == athlete_id, Activity.metrics.is_not(None))
        .order_by(Activity.start_time)).all()
    history = History.build([HistoryItem(r.id, r.source, light_metrics(r)) for r in rows])
    return [upsert_findings(s, athlete_id, day, evaluate(history, day, thresholds)) for day in days]


def _mark_analyzed(s, athlete_id: str, days: list[date]) -> None:
    if not days:
        return
    # Local days: a run's UTC start may lie a day either side of its local day.
    lo = datetime.combine(days[0] - timedelta(days=1), time(0), tzinfo=UTC)
    hi = datetime.combine(days[-1] + timedelta(days=2), time(0), tzinfo=UTC)
    s.execute(update(Activity).where(
        Activity.athlete_id == athlete_id, Activity.status == "parsed",
        Activity.start_time >= lo, Activity.start_time < hi,
    ).values(status="analyzed", error=None))


def _plan(s, athlete: Athlete, since: str, done: list[Upserted], max_age: int | None) -> list:
    """Deliveries for every finding this import created (both passes), one email in all, and
    the withdrawals the days' upserts planned."""
    lost = set().union(*(d.lost for d in done))
    created = s.scalars(select(Finding).where(
        Finding.athlete_id == athlete.id,
        Finding.created_at >= datetime.fromisoformat(since))).all()
    planned = deliveries.plan_findings(s, athlete, list(created), notify_max_age_days=max_age,
                                       lost=lost)
    planned += [w for d in done for w in d.withdrawn]
    if deliveries.candidate_endpoints(s, athlete.id):  # as the per-run job; cheap when none
        planned += _analyzed_events(s, athlete.id, since, created)
    return planned


def _analyzed_events(s, athlete_id: str, since: str, findings: list[Finding]) -> list:
    by_activity: dict[str, list[str]] = {}
    for f in findings:
        if f.activity_id:
            by_activity.setdefault(f.activity_id, []).append(f.id)
    by_id = {f.id: f for f in findings}
    activities = s.scalars(select(Activity).where(
        Activity.athlete_id == athlete_id,
        Activity.created_at >= datetime.fromisoformat(since))).all()
    planned = []
    for activity in activities:
        own = [by_id[i] for i in by_activity.get(activity.id, [])]
        planned += deliveries.plan_event(s, athlete_id, "activity.analyzed",
                                         analyzed_data(activity, own), key=activity.id)
    return planned
