"""/me over the runner's own history, wherever in time it lies.

A runner who imports three years of old runs, or whose Strava backfill brings last season, has
nothing in "this week": the page's charts therefore end at the runner's newest run (not today), and
a link steps back to the twelve weeks before the next older run, so a gap year is never an empty
page. Findings are read whatever their age, each with the run it is about.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from service.domain import club_stats
from service.errors import InvalidInput
from service.models import Activity, Finding

CHART_WEEKS = 12
MAX_FINDINGS = 300  # the newest ones; older ones stay in the API


def parse_until(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("`until` must be a date, YYYY-MM-DD.") from None


def _run_day(s, athlete_id: str, agg, before: date | None = None) -> date | None:
    q = select(agg(Activity.start_time)).where(Activity.athlete_id == athlete_id,
                                                 club_stats.own_runs())
    if before is not None:
        q = q.where(Activity.start_time < datetime.combine(before, datetime.min.time()))
    found = s.scalar(q)
    return found.date() if found is not None else None


def chart_window(s, athlete_id: str, today: date, until: date | None) -> dict:
    """The 12 weeks the charts show: ending at `until`, else at the newest run (never after
    today); `earlier` ends at the newest run before them, `later` is the next 12 weeks."""
    newest = _run_day(s, athlete_id, func.max)
    end = min(until or newest or today, today)
    first = end - timedelta(days=CHART_WEEKS * 7 - 1)
    earlier = _run_day(s, athlete_id, func.max, before=first)
    later = None
    if newest is not None and newest > end:
        later = min(end + timedelta(days=CHART_WEEKS * 7), newest)
    return {"end": end, "first": first, "earlier": earlier, "later": later,
            "weeks": CHART_WEEKS, "newest": newest}


def findings(s, athlete_id: str) -> tuple[list, dict]:
    """The runner's newest findings (any age) and {activity_id: the run they are about}."""
    # Neither a finding's evidence nor a run's metrics is shown here, and a real run's metrics
    # carry its route segment keys (kilobytes each, decoded for up to 300 runs otherwise).
    rows = s.scalars(select(Finding).options(defer(Finding.evidence))
                     .where(Finding.athlete_id == athlete_id)
                     .order_by(Finding.date.desc()).limit(MAX_FINDINGS)).all()
    ids = {f.activity_id for f in rows if f.activity_id}
    runs = {}
    if ids:
        for a in s.execute(select(Activity.id, Activity.start_time, Activity.name,
                                  Activity.distance_m).where(Activity.id.in_(ids))):
            runs[a.id] = {"id": a.id, "start": a.start_time, "name": a.name,
                          "km": a.distance_m / 1000.0}
    return rows, runs
