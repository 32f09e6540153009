"""Every rule on synthetic histories with known answers (DESIGN §1 defaults)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from testkit.synthetic import START, daily, run
from workers.analysis import (
    DynamicsMetrics,
    RouteMetrics,
    Thresholds,
    evaluate,
    evaluate_dates,
    history_note,
    weekly_table,
)


def day(n: int):
    return START + timedelta(days=n)


def only(findings, rule):
    hits = [f for f in findings if f.rule == rule]
    assert len(hits) == 1, f"expected one {rule}, got {[f.rule for f in findings]}"
    return hits[0]


def rules(findings) -> set[str]:
    return {f.rule for f in findings}


# single_run_spike / return_to_running


def test_run_40_percent_longer_than_recent_longest_is_a_caution_spike():
    history = daily(range(30), 10.0) + [run(30, 14.0, ident="long")]
    spike = only(evaluate(history, day(30)), "single_run_spike")
    assert (spike.severity, spike.value, spike.threshold) == ("caution", 1.4, 1.3)
    assert spike.activity == "long" and spike.date == day(30)
    assert "14.0 km is 40% longer" in spike.message and "(10.0 km)" in spike.message
    assert "Frandsen" in spike.message
    assert spike.evidence["longest_previous_m"] == 10000.0


def test_small_spike_uses_the_ten_percent_tier():
    spike = only(evaluate(daily(range(30), 10.0) + [run(30, 11.5)], day(30)), "single_run_spike")
    assert (spike.severity, spike.threshold) == ("caution", 1.1)


def test_more_than_double_the_recent_longest_is_high():
    spike = only(evaluate(daily(range(30), 10.0) + [run(30, 21.0)], day(30)), "single_run_spike")
    assert (spike.severity, spike.value, spike.threshold) == ("high", 2.1, 2.0)


def test_run_within_ten_percent_of_recent_longest_is_not_a_spike():
    assert "single_run_spike" not in rules(evaluate(daily(range(30), 10.0) + [run(30, 10.9)], day(30)))


def test_longest_run_older_than_30_days_does_not_count():
    history = [run(0, 30.0)] + daily(range(5, 31), 10.0) + [run(31, 14.0)]
    assert only(evaluate(history, day(31)), "single_run_spike").value == 1.4


def test_first_run_after_a_break_is_return_to_running_info():
    history = daily(range(10), 10.0) + [run(50, 9.0, ident="back")]
    found = evaluate(history, day(50))
    info = only(found, "return_to_running")
    assert (info.severity, info.activity, info.value) == ("info", "back", 41.0)
    assert "single_run_spike" not in rules(found)


def test_very_first_run_of_a_history_gets_no_spike_finding():
    assert evaluate([run(0, 42.0)], day(0)) == []


def test_non_running_activities_are_ignored():
    ride = run(30, 100.0, sport="cycling")
    assert "single_run_spike" not in rules(evaluate(daily(range(30), 10.0) + [ride], day(30)))


def test_indoor_and_manual_runs_count_for_distance():
    history = daily(range(29), 10.0) + [run(29, 15.0, indoor=True), run(30, 14.0)]
    assert "single_run_spike" not in rules(evaluate(history, day(30)))  # 14 < 1.1 x 15
    history = daily(range(29), 10.0) + [run(29, 15.0, manual=True), run(30, 14.0)]
    assert "single_run_spike" not in rules(evaluate(history, day(30)))


def test_two_runs_the_same_day_compare_with_the_earlier_one():
    history = daily(range(30), 5.0) + [run(30, 5.0, hour=6), run(30, 10.0, hour=18, ident="pm")]
    spike = only(evaluate(history, day(30)), "single_run_spike")
    assert spike.activity == "pm" and spike.severity == "caution"


# weekly_jump


def test_seven_days_half_again_above_the_usual_week_is_a_weekly_jump():
    # Four weeks of 35 km (5 km a day), then 14 km a day from day 28: the last 7 days hold
    # 44, 53 (1.51x), 62 km ...; the first window over 1.5x the usual week speaks, then quiet.
    history = daily(range(28), 5.0) + daily(range(28, 32), 14.0)
    jumps = [f for f in evaluate_dates(history) if f.rule == "weekly_jump"]
    assert [f.date for f in jumps][-1] == day(29)
    top = jumps[-1]
    assert top.value == pytest.approx(53 / 35, abs=1e-3)
    assert top.evidence["base_weekly_m"] == 35000.0 and top.evidence["base_weeks"] == 3
    assert top.evidence["last_7_days_m"] == 53000.0
    assert "usual training week" in top.message and "not statistically significant" in (
        top.message)


def test_a_normal_week_after_a_recovery_week_is_not_a_jump():
    # 40 km weeks, a 24 km recovery week, then 40 km again: the recovery week is not the base.
    weeks = [40, 40, 40, 24, 40, 40]
    history = [run(7 * w + d, km / 4) for w, km in enumerate(weeks) for d in (0, 2, 4, 6)]
    assert "weekly_jump" not in rules(evaluate_dates(history))


def test_weekly_jump_is_reported_once_per_excursion_and_level():
    # 9 km a day after 5 km days: the rolling week climbs day after day, one finding per level.
    history = daily(range(28), 5.0) + daily(range(28, 42), 9.0)
    jumps = [f for f in evaluate_dates(history) if f.rule == "weekly_jump"]
    levels = [f.severity for f in jumps]
    assert len(levels) == len(set(levels)) and levels[0] == "info"


def test_ratio_rules_are_silent_before_28_days_and_the_report_says_so():
    history = daily(range(0, 21, 3), 5.0) + [run(21, 30.0)]
    found = evaluate_dates(history)
    assert not rules(found) & {"weekly_jump", "acwr", "weekly_descent", "single_run_spike"}
    assert "stay silent until there are 28 days and 3 runs" in history_note(history, None)
    assert history_note(daily(range(40), 5.0), None) is None


# acwr


def test_acwr_above_1_5_is_info_with_both_ratios():
    history = daily(range(28), 5.0) + [run(28, 40.0)]
    acwr = only(evaluate(history, day(28)), "acwr")
    assert (acwr.severity, acwr.threshold) == ("info", 1.5)
    assert acwr.evidence["uncoupled"] == pytest.approx(70 / 35, abs=1e-3)
    assert acwr.evidence["ewma"] > 1.5
    assert "context, not an alarm" in acwr.message


def test_acwr_needs_four_weeks_of_history():
    history = daily(range(20), 5.0) + [run(20, 40.0)]
    assert "acwr" not in rules(evaluate(history, day(20)))


# weekly_descent and downhill_novel


def test_a_week_with_more_than_double_the_usual_descent_is_info_a_caution_only_if_configured():
    history = daily(range(35), 10.0, loss=50.0) + [run(35, 15.0, loss=900.0)]
    descent = only(evaluate(history, day(35)), "weekly_descent")
    assert descent.severity == "info"  # expert opinion: context (knee_load carries descent)
    assert descent.value == pytest.approx((6 * 50 + 900) / 350, abs=1e-3)  # the last 7 days
    assert "1200 m in the last 7 days" in descent.message and "expert opinion" in descent.message
    mountain = daily(range(35), 10.0, loss=50.0) + [run(35, 25.0, loss=1800.0)]
    assert only(evaluate(mountain, day(35)), "weekly_descent").severity == "info"
    cfg = Thresholds(weekly_descent_caution_m=1500.0)
    assert only(evaluate(mountain, day(35), cfg), "weekly_descent").severity == "caution"


def test_weekly_descent_needs_500_m():
    history = daily(range(35), 10.0, loss=10.0) + [run(35, 10.0, loss=400.0)]
    assert "weekly_descent" not in rules(evaluate(history, day(35)))


def test_indoor_descent_does_not_count_as_terrain():
    history = daily(range(35), 10.0, loss=50.0) + [run(35, 15.0, loss=900.0, indoor=True)]
    assert rules(evaluate(history, day(35))) & {"weekly_descent", "downhill_novel"} == set()


def test_descent_well_above_the_30_day_max_is_downhill_novel():
    history = daily(range(30), 10.0, loss=150.0) + [run(30, 10.0, loss=250.0)]
    novel = only(evaluate(history, day(30)), "downhill_novel")
    assert (novel.severity, novel.threshold) == ("info", 1.3)  # novel but small: context
    assert novel.value == pytest.approx(250 / 150, abs=1e-3)
    assert novel.evidence["triggered_by"] == ["loss"]
    big = daily(range(30), 10.0, loss=150.0) + [run(30, 20.0, loss=600.0)]
    assert only(evaluate(big, day(30)), "downhill_novel").severity == "caution"


def test_downhill_novel_needs_more_than_200_m():
    history = daily(range(30), 10.0, loss=100.0) + [run(30, 10.0, loss=190.0)]
    assert "downhill_novel" not in rules(evaluate(history, day(30)))


def test_downhill_novel_also_fires_on_steep_kilometres():
    history = daily(range(30), 10.0, loss=150.0, steep10=0.5) + [run(30, 10.0, loss=160.0,
                                                                       steep10=1.5)]
    assert only(evaluate(history, day(30)), "downhill_novel").evidence["triggered_by"] == [
        "steep_km"]


def test_gps_only_altitude_lowers_a_modest_novel_descent_to_info():
    history = daily(range(30), 10.0, loss=300.0) + [run(30, 10.0, loss=450.0, altitude="gps")]
    novel = only(evaluate(history, day(30)), "downhill_novel")
    assert novel.severity == "info" and "GPS" in novel.message


def test_a_huge_novel_descent_is_a_caution_whatever_the_altitude_source():
    # 2,034 m against a 30-day maximum of 56 m: not info just because it is GPS altitude.
    history = daily(range(30), 8.0, loss=56.0, altitude="gps") + [
        run(30, 40.0, loss=2034.0, altitude="gps", race=True)]
    novel = only(evaluate(history, day(30)), "downhill_novel")
    assert novel.severity == "caution"
    assert "less reliable" in novel.message and novel.message.startswith("Race: ")


# route_repetition and track_direction


def road(keys, direction_offset: int = 0) -> RouteMetrics:
    return RouteMetrics(has_gps=True, shape="loop", direction="ccw",
                        segment_keys=[k * 8 + direction_offset for k in keys],
                        segment_m=[100] * len(keys))


def test_same_segments_same_direction_every_week_is_route_repetition():
    same = range(100)
    history = [run(d, 10.0, route=road(same)) for d in (0, 3, 7, 10, 14)]
    rep = only(evaluate_dates(history), "route_repetition")
    assert rep.date == day(14) and rep.severity == "caution"
    assert rep.value == 1.0 and rep.threshold == 0.7


def test_running_the_route_in_alternating_directions_is_not_repetition():
    history = [run(d, 10.0, route=road(range(100), direction_offset=d // 7 % 2))
               for d in range(0, 50, 7)]
    assert "route_repetition" not in rules(evaluate_dates(history))


def test_track_runs_are_not_road_repetition():
    track = RouteMetrics(has_gps=True, shape="track", segment_keys=list(range(100)),
                         segment_m=[100] * 100, track_km_ccw=10.0)
    history = [run(d, 10.0, route=track) for d in (0, 7, 14)]
    assert "route_repetition" not in rules(evaluate_dates(history))


def test_track_km_mostly_one_direction_is_track_direction():
    track = RouteMetrics(has_gps=True, shape="track", direction="ccw", track_km_ccw=8.0)
    history = [run(d, 8.0, route=track) for d in (0, 4, 8, 12)]
    found = [f for f in evaluate_dates(history) if f.rule == "track_direction"]
    # 6 km a week one way: context; above the caution figure a block (test_rules_cohort_b)
    assert [(f.date, f.value, f.severity) for f in found] == [(day(8), 1.0, "info")]
    assert "counter-clockwise" in found[0].message


def test_alternating_track_direction_is_fine():
    ccw = RouteMetrics(has_gps=True, shape="track", direction="ccw", track_km_ccw=8.0)
    cw = RouteMetrics(has_gps=True, shape="track", direction="cw", track_km_cw=8.0)
    history = [run(d, 8.0, route=cw if d % 8 else ccw) for d in (0, 4, 8, 12, 16)]
    assert "track_direction" not in rules(evaluate_dates(history))


# gct_asymmetry, cadence_drop, shoe_mileage


def balance(pct: float) -> DynamicsMetrics:
    return DynamicsMetrics(gct_balance_left_pct=pct, gct_flat_s=1800.0)


def test_third_flat_run_in_the_red_zone_is_gct_asymmetry():
    history = [run(d, 10.0, dynamics=balance(53.0)) for d in (0, 2, 4)]
    found = [f for f in evaluate_dates(history) if f.rule == "gct_asymmetry"]
    assert [(f.date, f.value, f.threshold) for f in found] == [(day(4), 53.0, 52.2)]


def test_balance_shift_from_the_8_week_baseline_is_gct_asymmetry():
    history = [run(d, 10.0, dynamics=balance(49.5)) for d in range(0, 30, 3)]
    history.append(run(30, 10.0, dynamics=balance(51.2), ident="shifted"))
    gct = only(evaluate(history, day(30)), "gct_asymmetry")
    assert (gct.activity, gct.value, gct.threshold) == ("shifted", 1.7, 1.5)


def test_stable_balance_is_not_flagged():
    history = [run(d, 10.0, dynamics=balance(50.4)) for d in range(0, 30, 3)]
    assert "gct_asymmetry" not in rules(evaluate_dates(history))


def cadence(spm: float) -> DynamicsMetrics:
    return DynamicsMetrics(cadence_spm=spm, cadence_by_speed=[[3.0, 1200.0, spm], [3.25, 600.0,
                                                                                    spm + 4]])


def test_cadence_6_percent_lower_at_the_same_speed_is_info():
    history = [run(d, 10.0, dynamics=cadence(175.0)) for d in (0, 3, 6, 20)]
    history.append(run(30, 10.0, dynamics=cadence(164.0)))
    drop = only(evaluate(history, day(30)), "cadence_drop")
    assert drop.severity == "info" and drop.threshold == 5.0
    assert drop.value == pytest.approx(100 * (1 - (1200 * 164 + 600 * 168) / (1200 * 175 + 600 * 179)),
                                       abs=1e-3)


def test_cadence_drop_needs_a_baseline_of_three_runs():
    history = [run(0, 10.0, dynamics=cadence(175.0)), run(3, 10.0, dynamics=cadence(160.0))]
    assert "cadence_drop" not in rules(evaluate(history, day(3)))


def test_shoe_crossing_500_km_is_info_and_800_km_caution():
    history = [run(d, 10.0, gear_id="g1") for d in range(80)]
    found = [f for f in evaluate_dates(history) if f.rule == "shoe_mileage"]
    assert [(f.date, f.severity, f.value) for f in found] == [
        (day(49), "info", 500.0), (day(79), "caution", 800.0)]


# cross-cutting


def test_findings_name_the_sources_they_were_computed_from():
    history = daily(range(30), 10.0, source="garmin") + [run(30, 14.0, source="strava")]
    assert only(evaluate(history, day(30)), "single_run_spike").sources == ["garmin", "strava"]


def test_re_evaluating_a_date_gives_identical_findings():
    history = daily(range(35), 10.0, loss=50.0) + [run(35, 25.0, loss=900.0)]
    assert evaluate(history, day(35)) == evaluate(list(reversed(history)), day(35))


def test_days_without_runs_have_no_findings():
    history = daily(range(28), 5.0) + [run(28, 40.0)]
    assert evaluate(history, day(29)) == []


def test_thresholds_are_configurable():
    history = daily(range(30), 10.0) + [run(30, 14.0)]
    strict = Thresholds.from_mapping({"spike_moderate": "1.5"})
    assert only(evaluate(history, day(30), strict), "single_run_spike").threshold == 1.1


def test_weekly_table_starts_on_mondays_and_counts_terrain_loss_only():
    history = [run(0, 10.0, loss=100.0), run(1, 5.0, loss=50.0, indoor=True), run(8, 7.0)]
    assert weekly_table(history, day(9)) == [
        {"start": "2025-01-06", "distance_m": 15000.0, "loss_m": 100.0, "runs": 2},
        {"start": "2025-01-13", "distance_m": 7000.0, "loss_m": 0.0, "runs": 1},
    ]
