"""Activity streams (workers/parsing/streams.py): Strava's shapes, real samples, odd input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.parsing.conftest import DATA, fit_tracks
from workers.parsing import parse_bytes, parse_strava_streams
from workers.parsing.track import InvalidFile

API = DATA / "strava-api"


def _load(name: str):
    return json.loads((API / name).read_text())


def test_api_list_form_with_its_activity_parses_as_a_ride():
    streams = _load("gostrava__activity_streams_ride_103221154.json")
    activity = _load("gostrava__activity_get_ride.json")
    track = parse_strava_streams(streams, activity)
    assert track.sport == "cycling"
    assert track.timestamps.size == 999
    assert track.distance_m == pytest.approx(20739.7, abs=0.1)
    assert track.start_time.isoformat() == "2010-08-15T18:04:29+00:00"
    assert track.has_gps
    # Strava corrects a non-barometric device's altitude against its own elevation data.
    assert track.altitude_source == "strava"
    assert track.utc_offset_s == -7 * 3600  # start_date_local - start_date (California, August)
    assert 50 < np.nanmedian(track.cadence) < 110  # rides keep revolutions per minute


def test_key_by_type_dict_and_list_forms_give_the_same_track():
    plain = _load("sportslib__streams_run_2451375851.json")
    keyed = {k: {"data": v, "series_type": "distance"} for k, v in plain.items()}
    listed = [{"type": k, "data": v} for k, v in plain.items()]
    activity = {"type": "Run", "start_date": "2019-06-15T09:42:23Z", "gear_id": "g1"}
    a = parse_strava_streams(keyed, activity)
    b = parse_strava_streams(listed, activity)
    for field in ("timestamps", "distance", "lat", "lon", "altitude", "cadence", "heart_rate"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.gear_id == "g1"


def test_strava_run_streams_match_the_watch_file_of_the_same_run():
    streams = _load("sportslib__streams_run_2451375851.json")
    track = parse_strava_streams(streams, {"type": "Run", "start_date": "2019-06-15T09:42:23Z"})
    (fit,) = fit_tracks("sportslib__6782987395.fit")
    assert track.is_run
    assert track.distance_m == pytest.approx(fit.totals.distance_m, rel=0.01)
    assert np.nanmedian(track.cadence) == pytest.approx(np.nanmedian(fit.cadence), rel=0.03)
    assert track.timestamps[0] == pytest.approx(fit.timestamps[0], abs=2)


@pytest.mark.parametrize("name", sorted(p.name for p in API.glob("sportslib__streams_*.json")))
def test_every_streams_file_parses_as_bytes(name):
    parsed = parse_bytes((API / name).read_bytes(), name)
    (track,) = parsed.tracks
    assert track.timestamps.size > 2000
    assert np.isfinite(track.distance).sum() > 2000


def test_trainer_and_trail_runs_get_sub_sports():
    streams = {"time": [0, 1], "distance": [0, 3]}
    assert parse_strava_streams(streams, {"type": "Run", "trainer": True}).indoor
    assert parse_strava_streams(streams, {"sport_type": "TrailRun"}).sub_sport == "trail"
    assert parse_strava_streams(streams, {"sport_type": "VirtualRun"}).indoor


def test_manual_activity_keeps_summary_distance():
    activity = _load("stravalib__activity-manual.3.json")
    track = parse_strava_streams({"time": []}, activity)
    assert track.manual and track.sport == "hiking"
    assert track.distance_m == pytest.approx(22530.8)


def test_streams_without_time_or_with_ragged_arrays_are_refused():
    with pytest.raises(InvalidFile):
        parse_strava_streams({"distance": [1, 2]})
    with pytest.raises(InvalidFile):
        parse_strava_streams({"time": [0, 1, 2], "distance": [1, 2]})
    with pytest.raises(InvalidFile):
        parse_strava_streams("nonsense")  # type: ignore[arg-type]
