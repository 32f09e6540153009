"""Known-answer histories for the issue-11 semantics: breaks without a cliff, persistent exposure
that reminds, local weeks, untyped slow runs, city blocks, one severity order, look-back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from testkit.synthetic import START, daily, make_track, polyline, run
from workers.analysis import (
    RouteMetrics,
    Thresholds,
    compute_metrics,
    evaluate_dates,
    lookback_days,
    weekly_table,
)
from workers.analysis.digest import weekly_digests
from workers.analysis.history import HistoryItem
from workers.analysis.metrics import ActivityMetrics
from workers.analysis.severity import SEVERITIES, at_least, rank, strongest
from workers.parsing.gpx import parse_gpx


def day(n: int) -> date:
    return START + timedelta(days=n)


def by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


# -- a break: the same answer at 29 and 31 days ------------------------------------------------


@pytest.mark.parametrize("off", [29, 31])
def test_comeback_after_29_or_31_days_is_return_to_running_then_no_alarms(off):
    before = daily(range(0, 42), 8.0) + [run(d, 16.0) for d in range(6, 42, 7)]
    back = 41 + off
    # Rebuild: 5, 6, 7 ... km, a long run growing 8 -> 14 km: never longer than 16 km before.
    rebuild = [run(back + k, 5.0 + 0.5 * k) for k in range(0, 28, 2)]
    rebuild += [run(back + 6 + 7 * w, 8.0 + 2 * w, hour=9) for w in range(4)]
    found = [f for f in evaluate_dates(before + rebuild) if f.date >= day(back)]
    # (Its long run jumps 6 -> 8 km in the first week back: a ramp caution since issue 22.)
    first = [f for f in by_rule(found, "return_to_running") if f.severity == "info"]
    assert [(f.date, f.severity) for f in first] == [(day(back), "info")]
    assert first[0].evidence["days_since_last_run"] == pytest.approx(off, abs=0.1)
    assert "16.0 km longest" in first[0].message  # the build-up plan names the pre-break longest
    alarms = [f for f in found if f.rule in ("single_run_spike", "weekly_jump")
              and at_least(f.severity, "caution")]
    assert alarms == []


def test_comeback_run_longer_than_before_the_break_is_still_a_spike():
    history = daily(range(0, 40), 8.0) + [run(75, 12.0, ident="too-long")]
    spike = by_rule(evaluate_dates(history), "single_run_spike")
    assert [(f.activity, f.severity, f.evidence["compared_with"]) for f in spike] == [
        ("too-long", "caution", "before_break")]


# -- a recovery week is not a base -------------------------------------------------------------


def test_recovery_week_then_normal_week_gives_no_caution_at_all():
    weeks = [40, 42, 38, 26, 41, 39, 43, 27, 40]  # every 4th week ~65%
    history = [run(7 * w + d, km / 4) for w, km in enumerate(weeks) for d in (0, 2, 4, 6)]
    found = evaluate_dates(history)
    assert [f for f in found if at_least(f.severity, "caution")] == []


# -- the same loop for 10 weeks: alert, then reminders -----------------------------------------


def loop_run(d: int) -> HistoryItem:
    route = RouteMetrics(has_gps=True, shape="loop", direction="ccw",
                         segment_keys=[k * 8 + 1 for k in range(80)], segment_m=[100] * 80)
    return run(d, 8.0, route=route)


def test_same_loop_same_way_for_10_weeks_alerts_then_reminds_never_daily():
    history = [loop_run(7 * w + d) for w in range(10) for d in (0, 2, 4)]
    found = by_rule(evaluate_dates(history), "route_repetition")
    assert len(found) >= 2, "a habit that lasts 10 weeks must not go quiet after one alert"
    assert len(found) <= 3
    assert [f.evidence["reminder"] for f in found] == [False] + [True] * (len(found) - 1)
    gaps = np.diff([f.date.toordinal() for f in found])
    assert ((gaps >= 14) & (gaps <= 42)).all()  # about every 4 weeks (issue 22)
    first = found[0]
    assert first.date <= day(21)  # the 3-week definition is met in week 3
    assert "same route in the same direction" in first.message
    assert "GPS cannot see" in first.message
    assert found[1].message.startswith("Still: ")


# -- local days and weeks ----------------------------------------------------------------------


def test_sunday_evening_run_in_los_angeles_belongs_to_that_sunday_week():
    # Sunday 2025-01-12 17:30 in UTC-8 is Monday 01:30 UTC.
    start = datetime(2025, 1, 13, 1, 30, tzinfo=UTC)
    metrics = ActivityMetrics(start_time=start, distance_m=10_000.0, utc_offset_s=-8 * 3600)
    item = HistoryItem("la", "strava", metrics)
    weeks = weekly_table([run(1, 5.0, hour=12), item])
    assert [(w["start"], w["runs"]) for w in weeks] == [("2025-01-06", 2)]
    # Without the offset, the athlete's own setting decides.
    plain = HistoryItem("la", "upload", ActivityMetrics(start_time=start, distance_m=10_000.0))
    assert [w["runs"] for w in weekly_table([run(1, 5.0, hour=12), plain], utc_offset_s=-8 * 3600)] == [2]
    assert [w["runs"] for w in weekly_table([run(1, 5.0, hour=12), plain])] == [1, 1]  # UTC: next week


# -- untyped slow GPX with running cadence -----------------------------------------------------


def gpx_bytes(pace_s_km: float, cad: float | None, hr: float | None = None) -> bytes:
    points = []
    t0 = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
    step_m = 10.0
    for k in range(400):
        when = t0 + timedelta(seconds=k * step_m * pace_s_km / 1000.0)
        ext = ""
        if cad is not None or hr is not None:
            inner = (f"<gpxtpx:hr>{hr:.0f}</gpxtpx:hr>" if hr else "") + (
                f"<gpxtpx:cad>{cad:.0f}</gpxtpx:cad>" if cad else "")
            ext = f"<extensions><gpxtpx:TrackPointExtension>{inner}</gpxtpx:TrackPointExtension>" \
                  "</extensions>"
        lat = 48.0 + k * step_m / 111_320.0
        points.append(f'<trkpt lat="{lat:.7f}" lon="11.0"><ele>500</ele>'
                      f"<time>{when:%Y-%m-%dT%H:%M:%SZ}</time>{ext}</trkpt>")
    return ('<?xml version="1.0"?><gpx version="1.1" creator="phone" '
            'xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
            f"<trk><name>Morning</name><trkseg>{''.join(points)}</trkseg></trk></gpx>").encode()


def test_untyped_gpx_at_10_30_per_km_with_running_cadence_is_a_run():
    assert parse_gpx(gpx_bytes(630, cad=82)).sport == "running"  # 82 per foot = 164 spm
    assert parse_gpx(gpx_bytes(630, cad=None, hr=142)).sport == "running"
    assert parse_gpx(gpx_bytes(630, cad=58)).sport == "walking"  # 116 spm: walking
    assert parse_gpx(gpx_bytes(630, cad=None)).sport == "walking"  # pace alone: walking
    assert parse_gpx(gpx_bytes(360, cad=None)).sport == "running"


# -- a city block is a road loop, a 400 m oval is a track --------------------------------------


def test_city_block_150_by_60_m_is_a_road_loop_not_a_track():
    x, y = polyline([(0, 0), (150, 0), (150, 60), (0, 60), (0, 0)] * 12)
    route = compute_metrics(make_track(x, y)).route
    assert route.shape == "loop" and route.track_laps is None
    assert route.segment_keys  # it counts for the route habit like any road


# -- one severity order, and the look-back -----------------------------------------------------


def test_one_severity_order():
    assert SEVERITIES == ("info", "caution", "high")
    assert [rank(s) for s in SEVERITIES] == [0, 1, 2] and rank("bogus") == -1
    assert strongest(["info", "high", "caution"]) == "high"
    assert at_least("caution", "caution") and not at_least("info", "caution")


def test_lookback_covers_every_window():
    cfg = Thresholds()
    assert lookback_days(cfg) >= cfg.comeback_days + cfg.break_lookback_days
    assert lookback_days(cfg) >= 7 * cfg.weekly_base_weeks + 6
    longer = cfg.merged({"gct_baseline_days": 400})
    assert lookback_days(longer) >= 400  # the baseline window, counted inclusive of the day itself


def test_one_bad_week_is_one_digest():
    history = daily(range(35), 5.0, loss=20.0) + [run(35, 18.0, loss=900.0),
                                                   run(36, 15.0), run(37, 16.0)]
    found = [f.to_dict() for f in evaluate_dates(history) if f.date >= day(35)]
    assert len(found) >= 2
    digests = weekly_digests(found)
    assert len(digests) == 1 and digests[0]["severity"] == "high"
    assert digests[0]["findings"] == len(found)


# -- --as-of D: as if today were D -------------------------------------------------------------


def test_as_of_ignores_later_files_and_reports_the_last_7_days():
    from workers.analysis import analyze_tracks

    x, y = polyline([(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 0)], step=10.0)

    def track(d: int, laps: int):
        xs, ys = np.tile(x, laps), np.tile(y, laps)
        return (f"d{d}.fit", make_track(xs, ys, day=d))

    files = [track(d, 2) for d in range(0, 35, 2)] + [track(36, 3), track(40, 2)]
    doc = analyze_tracks(files, as_of=day(37))  # the 12 km run was yesterday
    assert "d40.fit" not in {a["file"] for a in doc["activities"]}
    spikes = [f for f in doc["findings"] if f["rule"] == "single_run_spike"]
    assert [f["date"] for f in spikes] == [day(36).isoformat()]
    later = analyze_tracks(files, as_of=day(44))  # 8 days on: no longer current
    assert [f for f in later["findings"] if f["rule"] == "single_run_spike"] == []
