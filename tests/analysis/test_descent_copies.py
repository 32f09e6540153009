"""Descent from samples on copies of real recordings (issue 22): Strava's `resolution` honoured,
a mountain profile not mistaken for phone noise, and both figures visible in the document."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from testkit.copies import gpx_copy, stream_copy, stream_summary
from workers.analysis import analyze_tracks, compute_metrics
from workers.parsing import parse_bytes, parse_strava_streams

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIT = DATA / "activities" / "fit"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"test data not found at {DATA}")


@cache
def recording(name: str):
    return parse_bytes((FIT / name).read_bytes(), name).tracks[0]


def test_the_streams_resolution_and_original_size_are_kept():
    name = "gostrava__activity_streams_ride_103221154.json"
    streams = json.loads((DATA / "strava-api" / name).read_bytes())
    track = parse_strava_streams(streams, {"type": "Ride"})
    assert (track.resolution, track.original_size) == ("medium", 2829)
    assert parse_strava_streams({"time": [0, 1, 2]}).resolution is None  # a plain dict of arrays


def test_low_resolution_streams_keep_the_descent():
    """~100 samples of a 527 m descent (COROS APEX Pro): the spike filter across samples 200 m
    apart erased 40% of it; read as a sparse profile it lands near the watch's total."""
    watch = recording("sportslib__6916728382.fit")
    low = parse_strava_streams(stream_copy(watch, "low"), stream_summary(watch, None))
    assert low.resolution == "low" and low.original_size > 5000
    e = compute_metrics(low).elevation
    assert e.loss_m == pytest.approx(watch.totals.descent_m, rel=0.15)


def test_a_mountain_profile_exported_by_strava_is_not_read_as_phone_noise():
    """sportslib__garmin.fit descends 1,414 m (FR910XT barometer). Its Strava GPX export names no
    device, so the profile is judged by its jitter; the bends of a mountain road are not noise."""
    watch = recording("sportslib__garmin.fit")
    copy = parse_bytes(gpx_copy(watch, "StravaGPX"), "export.gpx").tracks[0]
    assert copy.device == "StravaGPX" and copy.totals.descent_m is None
    e = compute_metrics(copy).elevation
    assert e.loss_m == pytest.approx(watch.totals.descent_m, rel=0.05)


def test_the_document_shows_what_we_report_our_estimate_and_the_device_total():
    watch = recording("gc__14211916346_ACTIVITY_FR955v18.fit")
    doc = analyze_tracks([("run.fit", watch)])
    e = doc["activities"][0]["elevation"]
    assert e["device_loss_m"] == watch.totals.descent_m
    assert e["samples_loss_m"] == compute_metrics(watch).elevation.engine_loss_m
    assert e["samples_loss_m"] != e["device_loss_m"]  # 147 m from the samples, 165 m the watch's
    assert e["loss_m"] == e["device_loss_m"] and e["loss_source"] == "device"
    copy = parse_bytes(gpx_copy(watch, "StravaGPX"), "export.gpx").tracks[0]
    e = analyze_tracks([("export.gpx", copy)])["activities"][0]["elevation"]
    assert e["device_loss_m"] is None and e["loss_source"] == "samples"
    assert e["loss_m"] == e["samples_loss_m"]
