"""Which analysed runs must be re-analysed when runs are added to or removed from a history.

The look-backs come from the rules (workers.analysis.windows), so a history's findings never depend
on the order its runs arrived in: a backfill may deliver the newest run first, an import may be
shuffled, a deletion may come last. Marked runs go back to `parsed` and their ids are returned, up
to the code that commits the session: it enqueues their analysis at once (a `Later`); the sweeper
is only the safety net. Findings are upserted (only genuinely new ones are delivered; stale ones
dropped).
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models import Activity, Athlete, Finding

RUNNING = "running"  # the rules only see runs (workers.analysis.history.History.build)


class Later(NamedTuple):
    """What a unit of work leaves for after its commit, returned to the code that commits it (an
    ingest write's answer): runs to analyse, stored histories to analyse once as an import's
    (athlete id, *workers.analyze_import arguments), deliveries to send."""

    runs: tuple[str, ...] = ()
    histories: tuple[tuple, ...] = ()
    deliveries: tuple[str, ...] = ()


def joined(*parts: Later) -> Later:
    """Several writes' Laters as one, each run and delivery once, in order."""
    return Later(tuple(dict.fromkeys(r for p in parts for r in p.runs)),
                 tuple(h for p in parts for h in p.histories),
                 tuple(dict.fromkeys(d for p in parts for d in p.deliveries)))


def thresholds_for(s: Session, athlete_id: str):
    """The athlete's thresholds as the analyze job builds them (deployment, then own)."""
    from service.infra import runtime as runtime_mod
    from workers.analysis import Thresholds

    rt = runtime_mod._current
    deployment = dict(rt.settings.thresholds) if rt is not None else {}
    athlete = s.get(Athlete, athlete_id)
    own = (athlete.thresholds or {}) if athlete is not None else {}
    return Thresholds.from_mapping(deployment).merged(own)


def reanalyze_later(s: Session, athlete_id: str, changed_starts: list[datetime]) -> list[str]:
    """Mark the analysed runs whose findings can change; returns their ids, to enqueue once the
    session has committed. A savepoint rolled back after marking leaves an id whose run is still
    `analyzed`: its analysis then runs once more for nothing, which is harmless (upserts)."""
    if not changed_starts:
        return []
    first, last = min(changed_starts), max(changed_starts)
    if _next_run(s, athlete_id, first) is None:
        return []  # the newest run (the common case): nothing later can change
    from workers.analysis.windows import lookback_days

    t = thresholds_for(s, athlete_id)
    runs = _runs(s, athlete_id)
    starts = [r.start_time for r in runs]
    end = last + timedelta(days=lookback_days(t))
    ids: set[str] = set()
    for start in changed_starts:
        i = bisect.bisect_right(starts, start)
        if i == len(runs):
            continue
        ids.add(runs[i].id)  # return_to_running: its gap is measured from the changed run
        if bisect.bisect_left(starts, start) < max(t.min_history_runs, 1):
            end = max(end, _judgeable_from(starts, t) + timedelta(days=lookback_days(t) + 7))
    ids |= _shoe_crossings(s, athlete_id, runs, first, t)
    again = list(s.scalars(update(Activity).where(
        Activity.athlete_id == athlete_id, Activity.status == "analyzed",
        Activity.start_time >= first, Activity.start_time <= end,
    ).values(status="parsed").returning(Activity.id)))
    if ids:
        again += s.scalars(update(Activity).where(
            Activity.id.in_(ids), Activity.status == "analyzed").values(status="parsed")
            .returning(Activity.id))
    return sorted(set(again))


def history_later(athlete_id: str, first: date, last: date, since: datetime) -> Later:
    """A history stored in bulk (a provider's backfill), to analyse once as an import's is
    (workers.analyze_import: every day in [first, last], deliveries planned for the findings
    created from `since` on) once the session that stored it has committed."""
    return Later(histories=((athlete_id, first.isoformat(), last.isoformat(), None,
                             since.isoformat(), True),))


def _judgeable_from(starts: list[datetime], t) -> datetime:
    """When the history becomes long enough for the ratio rules and the knee tolerance (its
    first run + `history_start_days`, and `min_history_runs` runs: counted since the first run,
    however old). A run added or removed among the first few moves that moment to at most the
    next run's, so the days up to it (+ a week: the tolerance is weekly) may speak or fall
    silent, and the days that read those days (the look-back) may change with them."""
    from workers.analysis.windows import history_start_days

    n = max(t.min_history_runs, 1)
    return max(starts[min(n, len(starts) - 1)],
               starts[min(1, len(starts) - 1)] + timedelta(days=history_start_days(t)))


def _next_run(s: Session, athlete_id: str, start: datetime):
    return s.scalar(select(Activity.id).where(
        Activity.athlete_id == athlete_id, Activity.sport == RUNNING,
        Activity.start_time > start).limit(1))


def _runs(s: Session, athlete_id: str) -> list:
    """Every run of the athlete, oldest first, in the order the rules sort them."""
    return list(s.execute(select(Activity.id, Activity.start_time, Activity.gear_id,
                                 Activity.distance_m, Activity.metrics.is_not(None).label("ready"))
                          .where(Activity.athlete_id == athlete_id, Activity.sport == RUNNING)
                          .order_by(Activity.start_time, Activity.id)).all())


def _shoe_crossings(s: Session, athlete_id: str, runs: list, since: datetime, t) -> set[str]:
    """Runs from `since` on that cross a pair's mileage mark now, or held a shoe finding before
    (a pair's whole life counts, so an old run moves the crossing run)."""
    from workers.analysis.history import meaningful
    from workers.analysis.windows import shoe_marks_km

    marks = [km * 1000.0 for km in shoe_marks_km(t)]
    totals: dict[str, float] = {}
    ids: set[str] = set()
    for r in runs:
        if not r.gear_id or not r.ready:
            continue
        before = totals.get(r.gear_id, 0.0)
        totals[r.gear_id] = after = before + meaningful(r.distance_m)
        if r.start_time >= since and any(before < m <= after for m in marks):
            ids.add(r.id)
    held = s.scalars(select(Finding.activity_id).where(
        Finding.athlete_id == athlete_id, Finding.rule == "shoe_mileage",
        Finding.date >= since.date(), Finding.activity_id.is_not(None))).all()
    return ids | {h for h in held if h is not None}
