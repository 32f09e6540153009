"""One member's charts: weekly distance and descent, each run against the longest run of the
previous 30 days, and weekly route repetition — from club-visible, non-private runs only.

Per-run metrics are loaded for one member at a time (a few hundred rows) and read with the risk
engine's own pure code (workers.analysis), so the charts measure what the rules measure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.club_stats import empty_weeks, shared_weeks, visible_runs, weekly_sums
from service.models import Activity


def lookback_days() -> int:
    """The charts' look-back: the longest-run and route-repetition rules' windows (from the rules)."""
    from workers.analysis import Thresholds
    from workers.analysis.windows import rule_windows

    windows = rule_windows(Thresholds())
    return max(windows["single_run_spike"], windows["route_repetition"]) + 1


def member_series(s: Session, athlete_id: str, scope: list[str], as_of: date,
                  weeks: int = 26, *, runs=None) -> dict:
    """`runs`: which activities count (default: club-visible ones; the runner's own page passes
    club_stats.own_runs())."""
    sums = weekly_sums(s, as_of, weeks, athlete_id=athlete_id, runs=runs).get(athlete_id)
    out: dict = {"weeks": shared_weeks(sums or empty_weeks(as_of, weeks), scope),
                 "runs": None, "route_repetition": None}
    if not {"distance", "routes"} & set(scope):
        return out
    history, first_day = _history(s, athlete_id, as_of, weeks, runs)
    if "distance" in scope:
        out["runs"] = runs_vs_longest(history, first_day)
    if "routes" in scope:
        out["route_repetition"] = weekly_repetition(history, as_of, weeks)
    return out


def _history(s: Session, athlete_id: str, as_of: date, weeks: int, runs=None):
    from workers.analysis import ActivityMetrics, History, HistoryItem

    first_day = as_of - timedelta(days=weeks * 7 - 1)
    since = datetime.combine(first_day - timedelta(days=lookback_days()), time(0), tzinfo=UTC)
    until = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    rows = s.execute(select(Activity.id, Activity.source, Activity.metrics).where(
        Activity.athlete_id == athlete_id, visible_runs() if runs is None else runs,
        Activity.metrics.is_not(None),
        Activity.start_time >= since, Activity.start_time < until)).all()
    items = [HistoryItem(i, src, ActivityMetrics.from_dict(m)) for i, src, m in rows]
    return History.build(items), first_day


def runs_vs_longest(h, first_day: date) -> list[dict]:
    """Each run's distance next to the longest run of the 30 days before it (the spike rule's
    ratio, Frandsen et al. 2025)."""
    from workers.analysis.history import from_day_number

    out = []
    for i in range(len(h)):
        day = from_day_number(int(h.day[i]))
        if day < first_day:
            continue
        prev = h.before(i, 30)
        longest = float(h.dist[prev].max()) if prev.stop > prev.start else None
        out.append({"date": day.isoformat(), "activity_id": h.items[i].id,
                    "distance_m": round(float(h.dist[i]), 1),
                    "longest_30d_m": round(longest, 1) if longest is not None else None,
                    "ratio": round(float(h.dist[i]) / longest, 3) if longest else None})
    return out


def weekly_repetition(h, as_of: date, weeks: int) -> list[dict]:
    """The route habit's net one-way share of the 28 days' road distance (segments run the same way
    again and again, less the same segments run the other way), measured at the end of each week
    (None when there is too little road running to say)."""
    from workers.analysis import Thresholds
    from workers.analysis.history import day_number
    from workers.analysis.patterns import repeated_share

    cfg = Thresholds()
    out = []
    for k in range(weeks - 1, -1, -1):
        end = as_of - timedelta(days=7 * k)
        d = day_number(end)
        window = h.days(d - cfg.repetition_window_days + 1, d)
        road = window.start + np.flatnonzero(h.road[window])
        found = repeated_share(h, d, road, cfg) if len(h) else None
        out.append({"week_ending": end.isoformat(),
                    "share": round(found["value"], 3) if found else None})
    return out
