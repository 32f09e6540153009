"""Knee load: each weight against the number it was taken from (docs/knee-load.md), the decay,
the tolerance (beginner, steady runner, comeback), every source's fallback, and the knee_load
finding on histories with a big week and a mountain race."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from testkit.synthetic import run
from workers.analysis import History, Thresholds, evaluate_dates
from workers.analysis import kneeload as kl
from workers.analysis import kneetolerance as kt
from workers.analysis.history import day_number
from workers.analysis.metrics import ActivityMetrics, ElevationMetrics, compute_metrics
from workers.parsing.track import SessionTotals, Track


def flat_track(km: float, speed: float, *, grade: float = 0.0, cadence: float | None = None):
    """Samples every 10 m at a steady speed on a constant grade."""
    d = np.arange(0.0, km * 1000.0 + 1e-9, 10.0)
    t = d / speed
    cad = np.full(d.size, cadence) if cadence else np.empty(0)
    return kl.profile(t, d, np.empty(0), cad, np.full(d.size, grade), "barometric")


# -- weights ------------------------------------------------------------------------------------

def test_downhill_weighs_from_impact_peak_and_walking_pfj_bounds():
    # Gottschall & Kram 2005: +54% impact peak at -15.8%; Kuster 1993: 3-4x PFJ walking at -19.3%.
    w = float(kl.grade_weight(np.array([-0.158]))[0])
    assert 1.54 < w < 3.0
    assert float(kl.grade_weight(np.array([-0.05]))[0]) == pytest.approx(1.25)
    assert float(kl.grade_weight(np.array([-0.9]))[0]) == kl.GRADE_WEIGHT_MAX  # Garmin's 3x


def test_uphill_weighs_like_level_and_less_than_the_same_descent():
    up, down = kl.grade_weight(np.array([0.10, -0.10]))
    assert up == 1.0 < down


def test_walking_downhill_uses_kusters_walking_factor():
    walk = float(kl.grade_weight(np.array([-0.193]), walking=np.array([True]))[0])
    assert 3.0 <= walk * 1.0 <= 3.6 or walk == kl.GRADE_WEIGHT_MAX


def test_speed_above_easy_weighs_more_capped_and_slower_is_not_discounted():
    assert float(kl.speed_weight(1.0)) == 1.0
    assert float(kl.speed_weight(1.4)) == pytest.approx(1.2)
    assert float(kl.speed_weight(3.0)) == kl.SPEED_WEIGHT_MAX
    assert float(kl.speed_weight(0.7)) == 1.0


def test_cadence_weight_follows_willson_per_mile():
    # -10% cadence (+10% step length): +14% per mile; +10%: -7.5% (Willson et al. 2014).
    assert kl.cadence_weight(-0.10) == pytest.approx(1.11, abs=0.04)
    assert kl.cadence_weight(0.10) == pytest.approx(0.925, abs=0.04)
    assert kl.cadence_weight(-0.5) == kl.CADENCE_WEIGHT[1]
    assert kl.cadence_weight(None) == 1.0


def test_an_easy_flat_km_is_one_knee_km():
    k = flat_track(5.0, 3.0)
    assert kl.run_load_m(k, 3.0, None) / 1000.0 == pytest.approx(5.0, rel=0.01)


def test_walking_counts_half():
    k = flat_track(4.0, 1.2)
    assert k.walk_m == pytest.approx(4000, rel=0.01)
    assert kl.run_load_m(k, 3.0, None) / 1000.0 == pytest.approx(2.0, rel=0.01)


def test_walking_by_cadence_even_at_running_speed():
    k = flat_track(2.0, 1.8, cadence=100.0)
    assert k.walk_m > 1900


def test_fast_running_weighs_more_than_easy():
    easy = kl.run_load_m(flat_track(5.0, 3.0), 3.0, None)
    fast = kl.run_load_m(flat_track(5.0, 4.2), 3.0, None)
    assert fast / easy == pytest.approx(1.2, abs=0.03)


# -- fallbacks (runs without samples) ----------------------------------------------------------

def summary_metrics(km: float, minutes: float, *, loss=None, gain=None, manual=False):
    track = Track(start_time=run(0, 1).metrics.start_time, sport="running", manual=manual,
                  summary_distance_m=km * 1000, summary_moving_time_s=minutes * 60,
                  totals=SessionTotals(distance_m=km * 1000, ascent_m=gain, descent_m=loss))
    return compute_metrics(track)


def test_garmin_summary_adds_its_elevation_loss_low_confidence():
    m = summary_metrics(10, 55, loss=300, gain=300)
    k = kl.knee_of(m)
    assert (k.method, k.confidence) == ("summary", "low")
    assert kl.run_load_m(k, k.speed_mps, None) == pytest.approx(10_000 + 5 * 300, rel=0.01)


def test_strava_without_streams_is_its_distance():
    m = summary_metrics(8, 45)
    k = kl.knee_of(m)
    assert k.confidence == "low" and kl.run_load_m(k, k.speed_mps, None) == pytest.approx(8000)


def test_manual_entry_counts_distance_not_terrain():
    m = summary_metrics(8, 45, loss=400, manual=True)
    assert kl.run_load_m(kl.knee_of(m), None, None) == pytest.approx(8000)


def test_an_old_stored_run_uses_its_stored_knee_km():
    m = replace(run(0, 10).metrics, knee=kl.KneeMetrics(load_km=14.5))
    h = History.build([run(-3, 5), type(run(0, 1))("old", "upload", m)])
    assert kt.series(h).run_km[-1] == 14.5


def test_a_slow_summary_average_is_a_walk_only_below_a_brisk_walk():
    assert kl.knee_of(summary_metrics(28, 28 * 60 / 5.4)).walk_m == 0  # 1.5 m/s: a mountain run
    assert kl.knee_of(summary_metrics(5, 5 * 60 / 4)).walk_m == pytest.approx(5000)


# -- decay and tolerance -----------------------------------------------------------------------

def test_acute_load_decays_by_six_sevenths_a_day_and_settles_at_a_week():
    daily = np.zeros(40)
    daily[0] = 10.0
    acute = kt.decayed(daily)
    assert acute[10] == pytest.approx(10.0 * (6 / 7) ** 10)
    steady = kt.decayed(np.full(200, 5.0))
    assert steady[-1] == pytest.approx(35.0, rel=0.001)  # 7 x the daily load: a week


def weeks_of(km_per_run: float, weeks: range, days=(0, 2, 4, 6)) -> list:
    return [run(7 * w + d, km_per_run, ident=f"w{w}d{d}") for w in weeks for d in days]


def tol(items, week: int, cfg=None) -> dict | None:
    h = History.build(items)
    monday = day_number(run(7 * week, 1).metrics.start_time.date())
    return kt.tolerance(h, kt.series(h), monday, cfg or Thresholds())


def test_no_tolerance_before_28_days_of_history():
    assert tol(weeks_of(5, range(3)), 3) is None  # 21 days
    assert tol(weeks_of(5, range(4)), 4) is not None


def test_beginner_gets_the_floor_not_a_borrowed_long_term():
    t = tol(weeks_of(1.0, range(5)), 5)
    assert t["km"] == Thresholds().knee_tolerance_floor_km


def test_steady_runner_has_headroom_over_their_usual_weekly_peak():
    t = tol(weeks_of(10, range(12)), 12)
    assert t["km"] == pytest.approx(1.3 * t["usual_peak_km"])
    assert 1.2 * 40 < t["km"] < 1.3 * 1.4 * 40


def test_a_two_week_holiday_does_not_lower_the_tolerance():
    steady = tol(weeks_of(10, range(12)), 12)
    holiday = tol(weeks_of(10, range(10)), 12)
    assert holiday["km"] == pytest.approx(steady["km"], rel=0.02)


def test_comeback_after_eight_weeks_is_bounded_by_a_share_of_the_best_month():
    before = tol(weeks_of(10, range(20)), 20)
    after = tol(weeks_of(10, range(20)) + weeks_of(2, range(28, 30)), 30)
    assert after["km"] == pytest.approx(0.6 * before["best_month_peak_km"], rel=0.05)
    assert after["km"] < 0.7 * before["km"]


# -- the finding -------------------------------------------------------------------------------

def knee_findings(items, cfg=None):
    return [f for f in evaluate_dates(items, None, cfg) if f.rule == "knee_load"]


def test_a_big_week_is_a_caution_with_numbers_and_the_runs():
    items = weeks_of(10, range(8)) + [run(56 + d, 12, ident=f"big{d}") for d in range(7)]
    found = [f for f in knee_findings(items) if f.severity == "caution"]
    assert found and found[0].date >= run(56, 1).metrics.start_time.date()
    f = found[0]
    assert f"{f.evidence['tolerance_knee_km']:.0f}" in f.message and "knee-km" in f.message
    assert f.evidence["runs"] and f.evidence["runs"][0]["activity"].startswith("big")


def test_a_mountain_race_is_a_caution_though_its_distance_is_usual():
    items = weeks_of(10, range(8)) + [run(62, 12, ident="race", loss=1500)]
    found = [f for f in knee_findings(items) if f.severity == "caution"]
    assert found and found[0].evidence["session"]["activity"] == "race"
    f = found[0]
    if f.evidence["trigger"] == "session":  # value and threshold say what triggered
        assert f.value > f.threshold == Thresholds().knee_session_ratio
        assert "Today's run alone weighed" in f.message


def test_ordinary_training_stays_quiet():
    assert not [f for f in knee_findings(weeks_of(10, range(16))) if f.severity != "info"]


def test_unaccustomed_descent_counts_twice_beyond_the_recent_largest():
    assert kl.novel_descent_m(3000, 1000) == pytest.approx(2000 * (kl.NOVEL_DESCENT_WEIGHT - 1))
    assert kl.novel_descent_m(400, 0) == 0.0  # under the floor: ordinary rolling roads


def test_metrics_round_trip_keeps_the_profile():
    m = ActivityMetrics(start_time=run(0, 1).metrics.start_time, elevation=ElevationMetrics(),
                        knee=flat_track(2.0, 3.0))
    back = ActivityMetrics.from_dict(m.to_dict())
    assert back.knee == m.knee
    legacy = m.to_dict()
    legacy.pop("knee")
    assert ActivityMetrics.from_dict(legacy).knee.method == "none"
