"""compute_metrics on synthetic tracks whose answers are known by construction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from testkit.synthetic import gps_noise, make_track, oval, polyline
from workers.analysis import ActivityMetrics, Thresholds, compute_metrics
from workers.analysis.elevation import compute_elevation
from workers.parsing.track import SessionTotals, Track


def flat_distance(km: float, step: float = 3.0) -> np.ndarray:
    return np.arange(0.0, km * 1000.0, step)


def test_flat_run_with_barometric_noise_has_near_zero_loss():
    rng = np.random.default_rng(1)
    d = flat_distance(10)
    alt = 120 + rng.normal(0, 0.4, d.size) + 0.2 * np.round(rng.normal(0, 1, d.size))
    result = compute_elevation(d, alt, "barometric", d / 3.0)
    assert result.loss_m < 5 and result.gain_m < 5
    assert result.km_grade_le_minus5 == 0


def test_flat_run_with_gps_altitude_noise_has_near_zero_loss():
    rng = np.random.default_rng(2)
    d = flat_distance(10)
    wander = np.cumsum(rng.normal(0, 0.3, d.size))  # GPS altitude drifts as well as jitters
    alt = 50 + rng.normal(0, 4.0, d.size) + np.clip(wander - wander.mean(), -6, 6)
    result = compute_elevation(d, alt, "gps", d / 3.0)
    assert result.loss_m < 15


def test_single_hill_loss_and_grades_match_the_profile():
    d = flat_distance(6, step=5.0)
    # 2 km flat, 1 km up 80 m, 1 km down 80 m (-8%), 2 km flat
    alt = np.interp(d, [0, 2000, 3000, 4000, 6000], [100, 100, 180, 100, 100])
    result = compute_elevation(d, alt, "barometric", d / 3.0)
    assert result.loss_m == pytest.approx(80, abs=2)
    assert result.gain_m == pytest.approx(80, abs=2)
    assert result.km_grade_le_minus5 == pytest.approx(1.0, abs=0.15)
    assert result.km_grade_le_minus10 == 0
    assert result.longest_descent_m == pytest.approx(80, abs=2)
    assert result.longest_descent_km == pytest.approx(1.0, abs=0.15)


def test_a_three_sample_altitude_spike_is_removed():
    d = flat_distance(2)
    alt = np.full(d.size, 40.0)
    alt[100:103] = 130.0  # a start-up style glitch
    assert compute_elevation(d, alt, "barometric", d / 3.0).loss_m < 1


def test_track_laps_counter_clockwise_are_detected_without_sub_sport():
    x, y = oval(laps=12, ccw=True, noise=2.0)
    route = compute_metrics(make_track(x, y)).route
    assert (route.shape, route.direction) == ("track", "ccw")
    assert route.track_laps in (11, 12, 13)
    assert route.track_km_ccw > 4.0 and route.track_km_cw < 0.3


def test_track_laps_clockwise_are_clockwise():
    x, y = oval(laps=10, ccw=False, noise=2.0)
    route = compute_metrics(make_track(x, y)).route
    assert (route.shape, route.direction) == ("track", "cw")


def test_a_city_block_loop_is_not_a_track():
    x, y = polyline([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)] * 1)
    x, y = np.tile(x, 8), np.tile(y, 8)
    assert compute_metrics(make_track(x, y)).route.shape != "track"


def test_loop_direction_comes_from_the_signed_area():
    corners = [(0, 0), (1500, 0), (1500, 1000), (0, 1000), (0, 0)]
    ccw = compute_metrics(make_track(*polyline(corners))).route
    cw = compute_metrics(make_track(*polyline(corners[::-1]))).route
    assert (ccw.shape, ccw.direction) == ("loop", "ccw")
    assert (cw.shape, cw.direction) == ("loop", "cw")


def test_out_and_back_is_recognised_and_has_no_direction():
    x, y = polyline([(0, 0), (2500, 300), (0, 0)])
    route = compute_metrics(make_track(x, y + np.where(np.arange(x.size) > x.size // 2, 6, 0))).route
    assert (route.shape, route.direction) == ("out_and_back", None)


def test_point_to_point_run():
    route = compute_metrics(make_track(*polyline([(0, 0), (4000, 0), (6000, 2000)]))).route
    assert route.shape == "point_to_point"


def test_same_route_same_direction_shares_most_segment_keys():
    corners = [(0, 0), (1500, 0), (1500, 1000), (0, 1000), (0, 0)]
    x, y = polyline(corners)
    a = compute_metrics(make_track(x, y)).route
    b = compute_metrics(make_track(x + gps_noise(x.size, 4, 1), y + gps_noise(y.size, 4, 2))).route
    rev = compute_metrics(make_track(*polyline(corners[::-1]))).route
    weights = dict(zip(b.segment_keys, b.segment_m, strict=True))
    shared = sum(m for k, m in weights.items() if k in set(a.segment_keys)) / sum(b.segment_m)
    assert shared > 0.8
    assert len(set(rev.segment_keys) & set(a.segment_keys)) / len(a.segment_keys) < 0.2
    assert len(a.segment_keys) <= 60  # compact: about one key per 100 m


def test_cadence_per_speed_band_and_flat_gct_balance():
    x, y = polyline([(0, 0), (3000, 0)])
    n = x.size
    track = make_track(x, y, altitude=np.full(n, 10.0), cadence=np.full(n, 172.0),
                       balance=np.full(n, 50.8))
    dyn = compute_metrics(track).dynamics
    assert dyn.cadence_spm == 172.0
    assert dyn.gct_balance_left_pct == 50.8
    assert [band[0] for band in dyn.cadence_by_speed] == [3.0]


def test_indoor_run_has_distance_but_no_terrain_or_route():
    x, y = polyline([(0, 0), (3000, 0)])
    track = make_track(x, y, altitude=np.linspace(0, 100, x.size), sub_sport="treadmill")
    m = compute_metrics(track)
    assert m.indoor and m.distance_m == pytest.approx(3000, abs=5)
    assert m.elevation.altitude_source == "none" and m.elevation.loss_m == 0
    assert m.route.shape == "none" and not m.terrain


def test_manual_entry_without_records_still_has_distance():
    from datetime import UTC, datetime

    track = Track(start_time=datetime(2025, 3, 1, tzinfo=UTC), sport="running", manual=True,
                  summary_distance_m=8000.0, summary_moving_time_s=2400.0)
    m = compute_metrics(track)
    assert (m.distance_m, m.moving_time_s, m.manual, m.route.has_gps) == (8000.0, 2400.0, True, False)


def test_metrics_round_trip_through_json():
    x, y = oval(laps=5)
    track = make_track(x, y, altitude=np.full(x.size, 5.0), gear_id="g-7",
                       totals=SessionTotals(descent_m=3.0))
    m = compute_metrics(track)
    restored = ActivityMetrics.from_dict(json.loads(json.dumps(m.to_dict(), allow_nan=False)))
    assert restored == m
    assert restored.elevation.device_loss_m == 3.0 and restored.gear_id == "g-7"


def test_thresholds_accept_string_overrides_and_reject_unknown_names():
    cfg = Thresholds.from_mapping('{"spike_small": "1.2"}').merged({"shoe_info_km": 600})
    assert (cfg.spike_small, cfg.shoe_info_km, cfg.spike_large) == (1.2, 600.0, 2.0)
    with pytest.raises(ValueError, match="unknown threshold"):
        Thresholds.from_mapping({"spike_tiny": 1})
    with pytest.raises(ValueError):
        Thresholds.from_mapping({"spike_small": "nan"})
