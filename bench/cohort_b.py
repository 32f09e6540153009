"""Set B for `bench/cohort.py`: the independently written histories of `testkit/histories_b.py`.

Only its interface is read here (runners, runs as Strava activity JSON + streams, labelled
patterns with `kind`, `start`, `expect`, `end`). Every run goes through the real Strava stream
parser and the real engine, as the ingest job would take it. Thresholds are never chosen on this
set: it is where they are judged.

The table below maps set B's pattern names to the engine's rules, only so the per-rule table can
say which rule a pattern is about; detection counts a caution from any rule.
"""

from __future__ import annotations

from datetime import date, timedelta

from cohort_judge import Case, Expect

from testkit.histories_b import runners
from workers.analysis import HistoryItem, compute_metrics, evaluate_dates
from workers.parsing import parse_strava_streams

ABOUT = {
    "one_way_loop": ("route_repetition",),
    "return_first_run": ("return_to_running",),
    "comeback_ramp": ("return_to_running", "single_run_spike"),
    "rolling_week_jump": ("weekly_jump",),
    "big_week": ("weekly_jump", "knee_load"),
    "too_much_too_soon": ("weekly_jump", "single_run_spike"),
    "single_long_run": ("single_run_spike",),
    "mountain_race": ("downhill_novel", "weekly_descent", "knee_load"),
    "novel_descent": ("downhill_novel", "weekly_descent"),
    "track_block": ("track_direction",),
}


def history(runner) -> list[HistoryItem]:
    items = []
    for run in runner.runs:
        track = parse_strava_streams(run.streams, run.activity)
        items.append(HistoryItem(f"{runner.name}#{run.activity['id']}", "strava",
                                 compute_metrics(track)))
    return items


def onset(patterns, start: date) -> date:
    """The day after the runner's quiet baseline window, when that window ends before `start`."""
    ends = [p.end for p in patterns if p.kind == "baseline" and p.end and p.end < start]
    return max(ends) + timedelta(days=1) if ends else start


def cases(seed: int = 2) -> list[Case]:
    out = []
    for r in runners(seed):
        items = history(r)
        findings = evaluate_dates(items)
        days = sorted(date.fromisoformat(run.activity["start_date_local"][:10]) for run in r.runs)
        expects = [Expect(p.kind, p.start, p.expect, ABOUT.get(p.kind, ()), p.end,
                          onset(r.patterns, p.start)) for p in r.patterns]
        out.append(Case(r.name, r.kind == "control", days[0], days[-1], findings, expects))
    return out
