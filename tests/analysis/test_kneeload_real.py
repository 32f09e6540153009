"""Knee load on real recordings from ../shared/data: the properties the weights promise, held on
what watches actually wrote (hills, pauses, walking breaks, GPS noise)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from service.infra.corpus import ACTIVITIES
from workers.analysis import compute_metrics
from workers.analysis import kneeload as kl
from workers.parsing import parse_bytes

pytestmark = pytest.mark.skipif(not ACTIVITIES.is_dir(), reason="../shared/data not found")
HILLY = ("fit/gc__4077461142.fit", "fit/sportslib__6916728382.fit", "fit/sportslib__garmin.fit",
         "gpx/sportslib__6909258631.gpx", "fit/sportslib__6782987395.fit")
FLAT_EASY = ("fit/msimms__20210507_run_garmin_fenix_6.fit", "fit/msimms__20210507_run_coros_pace_2.fit",
             "fit/gc__Garmin920_withFirstbeat.fit", "gpx/msimms__run_03_garmin.gpx")


@cache
def track(rel: str):
    return parse_bytes((ACTIVITIES / rel).read_bytes(), rel).tracks[0]


def own_load(t) -> float:
    """Knee-km with the run's own median speed as the easy pace (no history)."""
    k = compute_metrics(t).knee
    return kl.run_load_m(k, k.speed_mps, None) / 1000.0


def with_altitude(t, altitude):
    return replace(t, altitude=altitude)


@pytest.mark.parametrize("rel", HILLY)
def test_a_hilly_run_weighs_clearly_more_than_the_same_run_made_flat(rel):
    t = track(rel)
    flat = with_altitude(t, np.where(np.isfinite(t.altitude), 100.0, np.nan))
    assert own_load(t) > 1.10 * own_load(flat)


def up_to_the_top(t):
    """The run from its start to its highest point (mostly climbing), every stream cut alike."""
    n = t.altitude.size
    top = int(np.nanargmax(t.altitude)) + 1
    cut = {f: getattr(t, f)[:top] for f in ("timestamps", "distance", "lat", "lon", "altitude",
                                          "speed", "cadence", "heart_rate", "stance_time_balance")
           if getattr(t, f).size == n}
    return replace(t, **cut)


@pytest.mark.parametrize("rel", ("fit/sportslib__garmin.fit", "fit/gc__4077461142.fit",
                                 "fit/sportslib__6916728382.fit"))
def test_a_descent_weighs_more_than_the_same_climb_at_the_same_speed(rel):
    """Altitude mirrored: every climb becomes a descent of the same height on the same path at
    the same clock, so only the direction of the grade changes. Runs whose climbs and descents
    balance are cut at their top first."""
    t = track(rel)
    m = compute_metrics(t)
    if abs(m.elevation.gain_m - m.elevation.loss_m) < 0.3 * m.elevation.gain_m:
        t = up_to_the_top(t)
        m = compute_metrics(t)
    mirrored = with_altitude(t, 2 * np.nanmean(t.altitude) - t.altitude)
    more_down = own_load(mirrored) if m.elevation.gain_m > m.elevation.loss_m else own_load(t)
    more_up = own_load(t) if m.elevation.gain_m > m.elevation.loss_m else own_load(mirrored)
    # Each metre of height that is descended instead of climbed adds DOWN_PER_GRADE knee-metres
    # (less where the run walked it): at least half of that must show.
    height_km = abs(m.elevation.gain_m - m.elevation.loss_m) / 1000.0
    assert more_down - more_up > 0.5 * kl.DOWN_PER_GRADE * height_km > 0


@pytest.mark.parametrize("rel", FLAT_EASY)
def test_an_easy_flat_run_is_close_to_its_distance(rel):
    t = track(rel)
    km = compute_metrics(t).distance_m / 1000.0
    assert own_load(t) == pytest.approx(km, rel=0.06)


def test_the_fallback_of_a_hilly_run_is_near_its_samples_figure():
    """What a Garmin summary of the same run would give (distance, loss, pace): low confidence,
    but within 15% of the sample-by-sample figure on a barometric hilly run."""
    m = compute_metrics(track("fit/gc__4077461142.fit"))
    summary = kl.knee_of(replace(m, knee=kl.KneeMetrics()))
    assert summary.confidence == "low"
    by_summary = kl.run_load_m(summary, summary.speed_mps, None) / 1000.0
    assert by_summary == pytest.approx(own_load(track("fit/gc__4077461142.fit")), rel=0.15)


def test_walking_breaks_of_a_mountain_run_are_found():
    assert compute_metrics(track("fit/sportslib__garmin.fit")).knee.walk_m > 5000


def test_the_analyze_report_carries_knee_load_per_run_and_week():
    from workers.analysis import analyze_tracks, render_text

    files = ["fit/gc__4077461142.fit", "gpx/msimms__run_03_garmin.gpx"]
    doc = analyze_tracks([(f, track(f)) for f in files])
    by_file = {a["file"]: a["knee_load_km"] for a in doc["activities"]}
    assert by_file["fit/gc__4077461142.fit"] > 1.1 * 12.17
    assert by_file["gpx/msimms__run_03_garmin.gpx"] == pytest.approx(10.0, rel=0.06)
    assert sum(w["knee_load_km"] for w in doc["weeks"]) == pytest.approx(sum(by_file.values()),
                                                                          rel=0.001)
    assert doc["knee_load"]["tolerance_km"] is None  # two runs years apart: no tolerance
    text = render_text(doc)
    assert "knee-km" in text and "no tolerance yet" in text


# The same runs as Strava streams (shared/data/strava-api): a third source, weighed from samples.
STREAM_COPIES = (("sportslib__streams_run_2451375851.json", "fit/sportslib__6782987395.fit"),
                 ("sportslib__streams_run_3183490558.json", "fit/sportslib__6916728382.fit"),
                 ("sportslib__streams_run_3156040843.json", "fit/sportslib__6909950168.fit"))


@pytest.mark.parametrize(("streams", "fit"), STREAM_COPIES)
def test_strava_streams_of_a_run_weigh_what_its_fit_weighs(streams, fit):
    """Strava's streams of the same recording (no summary, no device name: the engine's own
    descent estimate) are weighed from their samples, within 5% of the FIT."""
    import json

    from workers.parsing import parse_strava_streams

    body = json.loads((ACTIVITIES.parent / "strava-api" / streams).read_bytes())
    copy = parse_strava_streams(body, {"type": "Run"})
    assert compute_metrics(copy).knee.method == "samples"
    assert own_load(copy) == pytest.approx(own_load(track(fit)), rel=0.05)
