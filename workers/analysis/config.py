"""Every threshold of the risk engine in one place.

Defaults follow DESIGN §1 (and `reference/science.md` §6). Population numbers are only defaults: a
deployment overrides them with `Thresholds.from_mapping(...)` (e.g. parsed from JSON or environment
variables) and an athlete's own settings are layered on top with `.merged(...)`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Thresholds:
    # single_run_spike: run distance / longest run in the previous 30 days (Frandsen 2025).
    spike_window_days: int = 30
    spike_small: float = 1.10
    spike_moderate: float = 1.30
    spike_large: float = 2.00
    # A gap this long makes the next run a comeback: `return_to_running` (info) instead of spike
    # ratios against an almost empty window, and for `spike_window_days` after the return the
    # reference is the longer of the recent longest and the longest before the break. The same
    # rule applies to a 29- and a 31-day break, so there is no cliff at the 30-day window's edge.
    break_min_days: int = 14
    break_lookback_days: int = 120  # a break longer than this is a fresh start: no reference
    comeback_days: int = 56  # how long after the return the pre-break longest/usual week count
    # return_to_running ramp: a step above the longest run since the return (spike tiers) is a
    # caution unless that longest was held this many days (a consolidated step) and the step is
    # at most `spike_large` (issue 22; docs/decisions.md).
    ramp_step_days: int = 7
    # Ratio rules (weekly_jump, acwr, weekly_descent) stay silent until the history is this long
    # and has this many runs: before that the "usual week" is a guess (the report says so).
    min_history_days: int = 28
    min_history_runs: int = 3
    # weekly_jump: rolling 7-day distance vs the runner's chronic base: the mean of the most
    # recent `weekly_base_recent` training weeks among the `weekly_base_weeks` 7-day blocks before,
    # where a block under `weekly_base_floor` x the biggest block (recovery week, taper, holiday,
    # weeks off) is not a base (Nielsen 2014 measured against one week; see docs/decisions.md).
    weekly_jump_ratio: float = 1.30  # info: context
    # caution: 0 = never (the default). Evidence for week-to-week change is null (Frandsen 2025)
    # or crosses 1 (Nielsen 2014), and no ratio separated jumps from normal training on both
    # independent sets in bench/cohort.py (issue 22: set B's irregular control reached 1.55, its
    # Monday-straddling jump 1.55). A deployment may set one.
    weekly_jump_caution_ratio: float = 0.0
    weekly_jump_min_base_m: float = 0.0  # base week must exceed this for a ratio to exist
    weekly_base_weeks: int = 8
    weekly_base_recent: int = 4
    weekly_base_floor: float = 0.6
    # ACWR (rolling): once it fired it stays quiet for this many days unless it escalates. Weekly
    # rules speak at most once per calendar week and level.
    load_refractory_days: int = 7
    # acwr: context only (info), needs enough history.
    acwr_ratio: float = 1.5
    acwr_min_history_days: int = 28
    ewma_acute_days: int = 7
    ewma_chronic_days: int = 28
    # downhill_novel: this run's loss vs the largest loss of the previous 30 days.
    downhill_window_days: int = 30
    downhill_ratio: float = 1.3
    downhill_min_loss_m: float = 200.0
    downhill_steep_min_km: float = 1.0  # km at grade <= -10% must also exceed this to count
    # Without a barometer the figure is less certain, but a descent this many times the recent
    # maximum is novel whatever the altitude source: still a caution (the message says how sure).
    downhill_uncertain_caution_ratio: float = 2.0
    # Caution only for a descent this large; smaller novel descents are context (info). In the
    # cohort a hilly road loop (~300 m) never reached it, every mountain race passed it.
    downhill_caution_min_loss_m: float = 400.0
    # weekly_descent: 7-day loss vs mean weekly loss of days 8-35.
    weekly_descent_ratio: float = 2.0
    weekly_descent_min_m: float = 500.0  # info (expert opinion: context)
    # caution: 0 = never (the default). Expert opinion; knee_load carries the descent load with
    # its evidence and downhill_novel the one-run novelty, and both sets of bench/cohort.py keep
    # every mountain pattern without it (issues 22/23). A deployment may set one.
    weekly_descent_caution_m: float = 0.0
    descent_min_history_days: int = 35  # the 4-week base (days 8-35) must be inside the history
    # Denominator floor so descent ratios stay finite; at the defaults above it never changes a
    # decision (ratio * floor is below the absolute minimum).
    descent_floor_m: float = 50.0
    # route_repetition: share of 28-day road distance on segments run in >= N weeks, same direction.
    repetition_window_days: int = 28
    repetition_share: float = 0.70
    repetition_min_weeks: int = 3
    repetition_min_road_km: float = 10.0
    # Persistent exposure (route habit, track direction): a reminder after this many days while
    # the exposure continues; a new alert only after `exposure_refractory_days` below threshold.
    reminder_days: int = 28
    exposure_refractory_days: int = 14
    # track_direction: per-week track km and one-direction share over 28 days.
    track_window_days: int = 28
    track_km_per_week: float = 5.0  # info (the DESIGN's expert figure): context
    track_one_direction_share: float = 0.90
    # caution: a one-direction block above this many km a week (0 = never). Expert opinion only,
    # so a caution needs a figure that separates: chosen on set A of bench/cohort.py (one weekly
    # session 7.2 km/week vs a block of three, 21.6), judged on set B (docs/decisions.md).
    track_caution_km_per_week: float = 10.0
    # gct_asymmetry: Garmin "red" zone and shift from an 8-week baseline.
    gct_low_pct: float = 47.8
    gct_high_pct: float = 52.2
    gct_min_red_runs: int = 3
    gct_shift_pp: float = 1.5
    gct_baseline_days: int = 56
    gct_min_baseline_runs: int = 3
    # cadence_drop: steps/min at matched speed vs 8-week baseline.
    cadence_drop_pct: float = 5.0
    cadence_baseline_days: int = 56
    cadence_min_baseline_runs: int = 3
    cadence_min_matched_s: float = 300.0
    # shoe_mileage.
    shoe_info_km: float = 500.0
    shoe_caution_km: float = 800.0
    # knee_load (workers/analysis/kneetolerance.py; docs/knee-load.md): acute knee load vs the
    # weekly tolerance: above it caution, above `knee_info_ratio` of it info. Tolerance: the
    # larger of `knee_recent_headroom` x the usual weekly peak of the last `knee_base_weeks`
    # training weeks and `knee_long_share` x the best month of the past year; never under the
    # floor, none before 28 days.
    knee_caution_ratio: float = 1.0
    knee_info_ratio: float = 0.95
    knee_min_history_days: int = 28
    knee_tolerance_floor_km: float = 8.0
    knee_recent_headroom: float = 1.3
    knee_base_weeks: int = 6
    knee_long_share: float = 0.6
    # A month the runner did in the last `knee_kept_weeks` weeks is still within reach after a
    # taper, a race or a holiday (tissue capacity is not lost in two weeks): x `knee_kept_share`.
    knee_kept_weeks: int = 12
    knee_kept_share: float = 1.0
    # One run's knee-km vs the biggest of the previous `spike_window_days` (Frandsen's session
    # comparison, knee-weighted): above this ratio a caution, for runs of at least the minimum.
    knee_session_ratio: float = 1.3
    knee_session_min_km: float = 5.0

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | str | None) -> Thresholds:
        """Build from a mapping (or a JSON object string); unknown keys are an error."""
        return cls().merged(mapping)

    def merged(self, overrides: Mapping[str, Any] | str | None) -> Thresholds:
        """A copy with `overrides` applied (values may be strings, as from the environment)."""
        if overrides is None:
            return self
        if isinstance(overrides, str):
            overrides = json.loads(overrides) if overrides.strip() else {}
        if not isinstance(overrides, Mapping):
            raise ValueError("threshold overrides must be a mapping")
        types = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(overrides) - set(types))
        if unknown:
            raise ValueError(f"unknown threshold(s): {', '.join(unknown)}")
        changes: dict[str, Any] = {key: _coerce(key, value, types[key])
                                   for key, value in overrides.items()}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


def _coerce(key: str, value: Any, type_name: Any) -> float | int:
    kind = int if type_name in (int, "int") else float
    try:
        number = kind(float(value)) if kind is int else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"threshold {key} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        raise ValueError(f"threshold {key} must be a finite, non-negative number")
    return number
