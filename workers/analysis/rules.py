"""Findings over a runner's history: the cheap second level of the engine.

`evaluate(history, as_of, config)` returns the findings dated `as_of`: activity findings for each
run that day (single_run_spike / return_to_running, downhill_novel, gct_asymmetry, cadence_drop,
shoe_mileage) and date findings (weekly_jump, acwr, weekly_descent, route_repetition,
track_direction) when that day's runs pushed a number over its threshold. Nothing fires on a day
without a run. The result depends only on history up to `as_of`, so re-running it for a date gives
the same findings (unique by `Finding.key`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from workers.analysis import kneetolerance, load, patterns, spikes
from workers.analysis.config import Thresholds
from workers.analysis.history import Finding, History, HistoryItem, day_number, from_day_number

ACTIVITY_RULES = (
    spikes.single_run_spike,
    spikes.downhill_novel,
    patterns.gct_asymmetry,
    patterns.cadence_drop,
    patterns.shoe_mileage,
)
DATE_RULES = (
    load.weekly_jump,
    load.acwr,
    load.weekly_descent,
    patterns.route_repetition,
    patterns.track_direction,
    kneetolerance.knee_load,
)
RULE_IDS = (  # one entry per line: other rules are added beside these
    "single_run_spike",
    "return_to_running",
    "weekly_jump",
    "acwr",
    "weekly_descent",
    "downhill_novel",
    "route_repetition",
    "track_direction",
    "gct_asymmetry",
    "cadence_drop",
    "shoe_mileage",
    "knee_load",
)


# Every rule that compares a run or a week with the runner's own past waits for enough history
# (`load.enough_history`); the report's note names them (issue 22). The route habit needs 3 weeks
# by its own definition; shoe mileage and track direction are absolute.
NEEDS_HISTORY = (
    "distance spike",  # single_run_spike
    "weekly load",  # weekly_jump
    "load ratio",  # acwr
    "weekly descent",  # weekly_descent
    "novel descent",  # downhill_novel
    "ground-contact shift",  # gct_asymmetry (shift from the baseline)
    "cadence",  # cadence_drop
)


def evaluate(
    history: list[HistoryItem] | History, as_of: date, config: Thresholds | None = None,
    utc_offset_s: int = 0,
) -> list[Finding]:
    """Findings dated `as_of` (a local date), ordered by rule within activity, date-level last.
    `utc_offset_s`: the athlete's offset for runs whose source gave none."""
    h = history if isinstance(history, History) else History.build(list(history), utc_offset_s)
    return _evaluate_day(h, day_number(as_of), config or Thresholds())


def evaluate_dates(
    history: list[HistoryItem] | History,
    dates: Iterable[date] | None = None,
    config: Thresholds | None = None,
    utc_offset_s: int = 0,
) -> list[Finding]:
    """Findings for several dates (default: every date with a run), ordered by date, deduplicated."""
    h = history if isinstance(history, History) else History.build(list(history), utc_offset_s)
    cfg = config or Thresholds()
    days = sorted({int(d) for d in h.day} if dates is None else {day_number(d) for d in dates})
    seen: set[tuple[str, str | None, date]] = set()
    out: list[Finding] = []
    for d in days:
        for f in _evaluate_day(h, d, cfg):
            if f.key not in seen:
                seen.add(f.key)
                out.append(f)
    return out


def _evaluate_day(h: History, d: int, cfg: Thresholds) -> list[Finding]:
    today = h.days(d, d)
    if today.start >= today.stop:
        return []
    found = [rule(h, i, cfg) for i in range(today.start, today.stop) for rule in ACTIVITY_RULES]
    found += [rule(h, d, today, cfg) for rule in DATE_RULES]
    return [f for f in found if f is not None]


def weekly_table(history: list[HistoryItem] | History, as_of: date | None = None,
                 utc_offset_s: int = 0) -> list[dict]:
    """Calendar weeks (Monday, local time) from the first run to `as_of` (default: the last run):
    distance of all runs, elevation loss of terrain runs, number of runs."""
    h = history if isinstance(history, History) else History.build(list(history), utc_offset_s)
    if len(h) == 0:
        return []
    last = day_number(as_of) if as_of is not None else int(h.day[-1])
    first_monday = monday(from_day_number(int(h.day[0])))
    weeks = []
    start = first_monday
    while start <= from_day_number(last):
        d0 = day_number(start)
        sel = h.days(d0, min(d0 + 6, last))
        weeks.append({
            "start": start.isoformat(),
            "distance_m": round(float(h.dist[sel].sum()), 1),
            "loss_m": round(float(h.loss[sel].sum()), 1),
            "runs": int(sel.stop - sel.start),
        })
        start += timedelta(days=7)
    return weeks


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def lookback_days(cfg: Thresholds | None = None) -> int:
    """The longest look-back, in days, that any rule or baseline reads to decide a date's findings.

    A run that arrives late can change findings on the days up to this many days after it. Two
    readings are deliberately outside it: shoe mileage (a pair's running total since its first
    run) and whether any earlier run exists at all (the very first run of a history gets no
    `return_to_running`). Keep this true when a rule's windows change (tests pin it)."""
    c = cfg or Thresholds()
    # A comeback run reads the longest run (and usual week) before a break that ended up to
    # `comeback_days` earlier and lasted up to `break_lookback_days`.
    comeback = c.comeback_days + c.break_lookback_days + max(c.spike_window_days,
                                                              7 * c.weekly_base_weeks + 6)
    weekly = 7 * c.weekly_base_weeks + 6
    acwr = max(c.acwr_min_history_days, load.EWMA_HORIZON * c.ewma_chronic_days)
    acwr += c.load_refractory_days
    exposure = max(c.repetition_window_days, c.track_window_days) + c.reminder_days
    exposure = max(exposure, c.exposure_refractory_days + c.repetition_window_days)
    baselines = max(c.gct_baseline_days, c.cadence_baseline_days, c.downhill_window_days)
    return int(max(comeback, weekly, acwr, exposure, baselines, c.min_history_days))


def history_note(history: list[HistoryItem] | History, as_of: date | None,
                 config: Thresholds | None = None, utc_offset_s: int = 0) -> str | None:
    """What the report says while ratio rules are still silent for lack of history."""
    h = history if isinstance(history, History) else History.build(list(history), utc_offset_s)
    cfg = config or Thresholds()
    if len(h) == 0:
        return None
    last = day_number(as_of) if as_of is not None else int(h.day[-1])
    if load.enough_history(h, last, cfg):
        return None
    span = last - int(h.day[0]) + 1
    runs = h.days(int(h.day[0]), last).stop
    have = (f"{span} days" if span < cfg.min_history_days else f"{runs} run{'s' * (runs != 1)}")
    return (f"Only {have} of history so far: the {', '.join(NEEDS_HISTORY)} rules stay silent "
            f"until there are {cfg.min_history_days} days and {cfg.min_history_runs} runs, "
            "because your recent longest run, usual week, usual descent and usual running style "
            "cannot be known before that.")
