"""How far back each rule reads, derived from `Thresholds` — the one place that number lives.

Adding or removing a run at time t can change the findings of later days: every day whose rules
read t. `lookback_days(thresholds)` is the longest such distance in days, so re-analysing
[t, t + lookback] makes findings independent of the order runs arrived in. Three look-backs are not
windows and are handled by the caller (service.domain.activities.reanalyze_later):

- return_to_running: "first run in N days" reads back to the previous run, however long ago —
  the next run after a changed one is re-analysed;
- the ratio rules and the knee tolerance need history to start early enough (`h.day[0]`) and
  `min_history_runs` runs since its start, however old — when the changed run is (or was) among
  the first `min_history_runs`, the days up to the moment the history becomes long enough (+ the
  look-back of those days) are re-analysed;
- shoe_mileage sums a pair's whole life — the runs that cross a mileage mark are re-analysed.
"""

from __future__ import annotations

from workers.analysis.config import Thresholds

# workers.analysis.load: weekly_jump compares days d-6..d with the 7-day blocks before them (up to
# `weekly_base_weeks`, read by rules.lookback_days); acwr's uncoupled
# chronic load is days d-27..d-7 and its EWMA starts at most 364 days back (`ewma_pair`);
# weekly_descent's base is days d-34..d-7.
WEEKLY_JUMP_DAYS = 21
ACWR_CHRONIC_DAYS = 28
EWMA_HORIZON_DAYS = 365
DESCENT_BASE_DAYS = 35
KNEE_LOAD_DAYS = 7 * 51 + 6


def rule_windows(t: Thresholds) -> dict[str, int]:
    """Rule id → days before the judged day whose runs can change its finding."""
    return {
        "single_run_spike": t.spike_window_days,
        "return_to_running": t.spike_window_days,  # plus the previous run (see module doc)
        "weekly_jump": max(WEEKLY_JUMP_DAYS, 7 * t.weekly_base_weeks + 6),
        "acwr": max(ACWR_CHRONIC_DAYS, t.acwr_min_history_days, EWMA_HORIZON_DAYS),
        "weekly_descent": max(DESCENT_BASE_DAYS, t.descent_min_history_days,
                              7 * t.weekly_base_weeks + 6),
        "downhill_novel": t.downhill_window_days,
        "route_repetition": t.repetition_window_days,
        "track_direction": t.track_window_days,
        "gct_asymmetry": t.gct_baseline_days,
        "cadence_drop": t.cadence_baseline_days,
        "shoe_mileage": 0,  # the pair's whole life (see module doc)
        # kneetolerance: the week's tolerance reads 51 weeks before its Monday; a run's knee-km
        # reads the 90 days before it (easy pace), inside the same year.
        "knee_load": KNEE_LOAD_DAYS,
    }


def lookback_days(t: Thresholds) -> int:
    """The longest look-back of any rule, in days (inclusive of the day itself): the per-rule
    windows above, and the rules' own account of their references (comeback, weekly base,
    reminders; `workers.analysis.rules.lookback_days`), whichever is longer."""
    from workers.analysis.rules import lookback_days as rules_lookback

    return max(max(rule_windows(t).values()) + 1, rules_lookback(t))


def history_start_days(t: Thresholds) -> int:
    """Rules that stay silent until the history is this many days old."""
    return max(t.acwr_min_history_days, t.descent_min_history_days)


def shoe_marks_km(t: Thresholds) -> tuple[float, ...]:
    return (t.shoe_info_km, t.shoe_caution_km)


# The longest look-back that needs more than distance (gct/cadence baselines: 8 weeks), with a
# margin. Older runs only feed distance-based rules (ACWR's EWMA, shoe mileage, return to
# running), so they are read from plain columns instead of decoding every stored metrics blob —
# for a 10-year history that JSON decoding alone took ~160 ms per analysis.
FULL_METRICS_DAYS = 70  # tests/analysis/test_windows.py: terrain, route and gait windows fit inside
