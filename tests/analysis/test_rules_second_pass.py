"""Issue 22: what an independent audit found on histories nobody here tuned to.

Rolling 7-day windows, the comeback ramp, minimum history for every relative rule, the route habit
on net one-way exposure (trail excluded, honest wording, reminders about every 4 weeks)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from testkit.synthetic import START, daily, gps_noise, make_track, oval, run
from workers.analysis import (
    RouteMetrics,
    Thresholds,
    compute_metrics,
    evaluate_dates,
    history_note,
)
from workers.analysis.severity import at_least


def day(n: int):
    return START + timedelta(days=n)


def of(findings, rule):
    return [f for f in findings if f.rule == rule]


# Rolling windows ---------------------------------------------------------------------------------


def forty_km_weeks(weeks: int, until_day: int | None = None):
    """10 km on Mon, Wed, Fri and Sun: 40 km a week."""
    last = 7 * weeks if until_day is None else until_day
    return [run(d, 10.0) for d in range(last) if d % 7 in (0, 2, 4, 6)]


def test_the_same_62_km_in_seven_days_reads_the_same_whether_or_not_it_straddles_a_monday():
    jump = [62.0 / 7] * 7
    inside = forty_km_weeks(8) + [run(56 + k, km) for k, km in enumerate(jump)]  # Mon..Sun
    straddle = forty_km_weeks(8, until_day=59) + [run(59 + k, km) for k, km in enumerate(jump)]
    # Default thresholds: the same answer (context) either way.
    a, b = of(evaluate_dates(inside), "weekly_jump"), of(evaluate_dates(straddle), "weekly_jump")
    assert [f.severity for f in a] == [f.severity for f in b] == ["info"]
    # The largest 7-day total is the same too: the 62 km plus the 10 km run just before them.
    high = Thresholds.from_mapping({"weekly_jump_ratio": 1.55})
    tops = [of(evaluate_dates(h, config=high), "weekly_jump") for h in (inside, straddle)]
    assert [f.value for x in tops for f in x] == [round((10 + 6 * 62 / 7) / 40, 3)] * 2
    assert tops[0][0].message.startswith("In the last 7 days you ran 63.1 km")


def test_weekly_descent_uses_the_last_seven_days_too():
    base = [run(d, 10.0, loss=100.0) for d in range(56) if d % 7 in (0, 2, 4, 6)]  # 400 m a week
    # 1,600 m from Thursday to Wednesday: no calendar week holds more than 1,000 m of it.
    hills = [run(59 + k, 10.0, loss=400.0) for k in (0, 2, 4, 6)]
    cfg = Thresholds(weekly_descent_caution_m=1500.0)  # info by default: escalation shows it
    found = of(evaluate_dates(base + hills, None, cfg), "weekly_descent")
    assert found and max(f.evidence["loss_last_7_days_m"] for f in found) == 1600.0
    assert "in the last 7 days" in found[-1].message


# Comeback ramp ----------------------------------------------------------------------------------


def before_a_break():
    """Eight weeks with a 20 km Sunday long run, then 22 days off."""
    return [run(d, 20.0 if d % 7 == 6 else 8.0) for d in range(56) if d % 7 in (1, 3, 6)]


def test_a_ramp_from_6_to_19_km_in_five_days_after_a_break_is_a_caution():
    back = 55 + 23  # 22 full days without a run
    history = before_a_break() + [run(back, 5.0, ident="first"), run(back + 2, 6.0, ident="second"),
                                  run(back + 4, 19.0, ident="ramp")]
    found = evaluate_dates(history)
    first = [f for f in found if f.activity == "first"]
    assert [(f.rule, f.severity) for f in first] == [("return_to_running", "info")]
    assert not [f for f in found if f.activity == "second"]  # one run back is no reference yet
    ramp = [f for f in found if f.activity == "ramp"]
    assert [(f.rule, f.severity) for f in ramp] == [("return_to_running", "caution")]
    r = ramp[0]
    assert r.value == round(19 / 6, 3) and r.threshold == 1.1
    assert r.evidence["longest_since_return_m"] == 6000.0 and r.evidence["runs_since_return"] == 2
    assert "return-to-running guidance" in r.message and "not the cohort study" in r.message
    assert "19.0 km" in r.message and "6.0 km" in r.message


def test_steps_held_for_a_week_are_a_rebuild_not_a_ramp():
    # 8 weeks off, then 3 km runs, and one more km every week: the textbook rebuild.
    back = 55 + 57
    rebuild = [(0, 3.0), (2, 3.0), (4, 3.0), (7, 4.0), (9, 4.0), (11, 4.0), (14, 5.0), (16, 5.0),
               (21, 6.0), (23, 5.0), (28, 7.0)]
    history = before_a_break() + [run(back + d, km) for d, km in rebuild]
    found = [f for f in evaluate_dates(history) if f.date >= day(back)]
    assert [(f.rule, f.severity) for f in found if at_least(f.severity, "caution")] == []
    # ... but a step of more than double is a ramp however long the last one was held.
    jump = before_a_break() + [run(back + d, km) for d, km in rebuild[:6]] + [run(back + 14, 9.0)]
    assert [f.severity for f in of(evaluate_dates(jump), "return_to_running")] == ["info",
                                                                                   "caution"]


def test_a_gradual_rebuild_after_a_break_gets_no_caution():
    back = 55 + 23
    rebuild = [5.0, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 11.0, 12.0]
    history = before_a_break() + [run(back + 2 * k, km) for k, km in enumerate(rebuild)]
    found = [f for f in evaluate_dates(history) if f.date >= day(back)]
    assert [(f.rule, f.severity) for f in found if at_least(f.severity, "caution")] == []
    assert [f.rule for f in found if f.rule == "return_to_running"] == ["return_to_running"]


def test_a_run_back_longer_than_before_the_break_is_still_a_spike():
    back = 55 + 23
    history = before_a_break() + [run(back, 5.0), run(back + 2, 6.0),
                                  run(back + 4, 25.0, ident="long")]
    long = [f for f in evaluate_dates(history) if f.activity == "long"]
    assert [(f.rule, f.severity) for f in long] == [("single_run_spike", "caution")]
    assert long[0].evidence["longest_previous_m"] == 20000.0  # the longest before the break


# Minimum history --------------------------------------------------------------------------------


def test_downhill_novel_waits_for_enough_history_and_the_note_says_so():
    young = daily(range(5), 8.0, loss=300.0) + [run(5, 20.0, loss=900.0)]
    assert not of(evaluate_dates(young), "downhill_novel")
    assert "novel descent" in history_note(young, None)
    grown = daily(range(30), 8.0, loss=300.0) + [run(30, 20.0, loss=900.0)]
    assert of(evaluate_dates(grown), "downhill_novel")


# Route habit on net one-way exposure ------------------------------------------------------------


def loop(direction: int, sub_sport: str | None = None) -> dict:
    """A 10 km loop of 100 cells; `direction` 0 or 1 runs it the other way round (the opposite
    heading sector of the same cells, as `routes.segment_keys` encodes it)."""
    route = RouteMetrics(has_gps=True, shape="loop", direction="ccw" if direction else "cw",
                         segment_keys=[k * 8 + 3 * direction for k in range(100)],
                         segment_m=[100] * 100)
    return {"route": route, "sub_sport": sub_sport}


def test_a_loop_run_alternately_both_ways_is_no_habit_and_its_one_way_twin_is():
    days = [d for d in range(70) if d % 7 in (1, 3, 5)]
    alternating = [run(d, 10.0, **loop(n % 2)) for n, d in enumerate(days)]
    one_way = [run(d, 10.0, **loop(0)) for d in days]
    assert not of(evaluate_dates(alternating), "route_repetition")
    habit = of(evaluate_dates(one_way), "route_repetition")
    assert habit and habit[0].severity == "caution"
    assert habit[0].evidence["repeated_share"] == 1.0


def test_trail_runs_are_not_road_for_the_route_habit():
    days = [d for d in range(70) if d % 7 in (1, 3, 5)]
    trail = [run(d, 10.0, **loop(0, sub_sport="trail")) for d in days]
    assert not of(evaluate_dates(trail), "route_repetition")


def test_the_route_habit_message_does_not_claim_which_leg_is_lower():
    days = [d for d in range(70) if d % 7 in (1, 3, 5)]
    habit = of(evaluate_dates([run(d, 10.0, **loop(0)) for d in days]), "route_repetition")[0]
    assert "low side" not in habit.message
    assert "which side of the road" in habit.message
    assert "other direction" in habit.message  # what the advice suggests


def test_route_habit_reminders_come_about_every_four_weeks():
    days = [d for d in range(7 * 30) if d % 7 in (1, 3, 5)]
    found = of(evaluate_dates([run(d, 10.0, **loop(0)) for d in days]), "route_repetition")
    dates = [f.date for f in found]
    assert not found[0].evidence["reminder"] and all(f.evidence["reminder"] for f in found[1:])
    gaps = [(b - a).days for a, b in zip(dates, dates[1:], strict=False)]
    assert len(gaps) >= 5 and max(gaps) <= 42
    assert 24 <= sum(gaps) / len(gaps) <= 32


# A 200 m indoor oval by geometry ----------------------------------------------------------------


def indoor_oval(laps: float, ccw: bool = True, noise: float = 1.5, seed: int = 3):
    """Points every 2 m round a 200 m oval: straights 45 m, bends of radius 17.5 m."""
    straight, radius = 45.0, (200.0 - 90.0) / (2 * np.pi)
    s = np.arange(0.0, laps * 200.0, 2.0) % 200.0
    bend = np.pi * radius
    x, y = np.empty_like(s), np.empty_like(s)
    parts = ((0.0, straight, lambda u: u, lambda u: 0 * u - radius),
             (straight, straight + bend, lambda u: straight + radius * np.sin(u / radius),
              lambda u: -radius * np.cos(u / radius)),
             (straight + bend, 2 * straight + bend, lambda u: straight - u,
              lambda u: radius + 0 * u),
             (2 * straight + bend, 200.0, lambda u: -radius * np.sin(u / radius),
              lambda u: radius * np.cos(u / radius)))
    for lo, hi, fx, fy in parts:
        sel = (s >= lo) & (s < hi)
        x[sel], y[sel] = fx(s[sel] - lo), fy(s[sel] - lo)
    x = x if ccw else -x
    return x + gps_noise(x.size, noise, seed), y + gps_noise(y.size, noise, seed + 1)


@pytest.mark.parametrize("ccw", [True, False])
def test_a_200_m_indoor_oval_is_a_track_with_its_direction(ccw):
    m = compute_metrics(make_track(*indoor_oval(30, ccw=ccw)))
    assert m.route.shape == "track" and abs(m.route.track_laps - 30) <= 2
    one_way, other = ((m.route.track_km_ccw, m.route.track_km_cw) if ccw else
                      (m.route.track_km_cw, m.route.track_km_ccw))
    assert one_way > 4.5 and other < 0.1 * one_way


def test_a_400_m_track_is_still_a_400_m_track():
    m = compute_metrics(make_track(*oval(12, ccw=True, noise=2.0)))
    assert m.route.shape == "track" and m.route.track_laps == 12
