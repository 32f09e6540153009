from __future__ import annotations

import numpy as np
import pytest

from tests.parsing.conftest import GPX_FILES, INVALID_GPX, gpx_track, ids
from workers.parsing.gpx import parse_gpx
from workers.parsing.track import InvalidFile

# Sport per GPX: from <type> where present, else inferred from speed (gpx.py docstring).
EXPECTED_SPORT = {
    "gpxpy__Mojstrovka.gpx": None,  # broken clock (all points at one instant): no speed to judge
    "gpxpy__cerknicko-jezero.gpx": "walking",
    "gpxpy__cerknicko-jezero-without-elevations.gpx": "walking",
    "gpxpy__track-with-empty-segment.gpx": None,  # 9 points: too few to judge
}


@pytest.mark.parametrize("path", GPX_FILES, ids=ids(GPX_FILES))
def test_every_real_gpx_file_parses_with_the_expected_sport(path):
    track = gpx_track(path.name)
    assert track.sport == EXPECTED_SPORT.get(path.name, "running")
    assert track.timestamps.size == track.distance.size == track.lat.size == track.altitude.size


@pytest.mark.parametrize("path", INVALID_GPX, ids=ids(INVALID_GPX))
def test_invalid_gpx_files_raise_invalid_file(path):
    with pytest.raises(InvalidFile):
        parse_gpx(path.read_bytes())


def test_gpx_distance_matches_the_same_run_recorded_as_fit():
    from tests.parsing.conftest import fit_tracks

    gpx = gpx_track("sportslib__6782987395.gpx")
    (fit,) = fit_tracks("sportslib__6782987395.fit")
    assert gpx.distance_m == pytest.approx(fit.totals.distance_m, rel=0.02)
    assert gpx.start_time == fit.start_time


def test_garmin_connect_gpx_reads_heart_rate_and_doubles_cadence():
    track = gpx_track("msimms__20210119_run_garmin_fenix6_sapphire.gpx")
    assert np.isfinite(track.heart_rate).sum() == 1232
    assert 150 < np.nanmedian(track.cadence) < 200
    assert track.name == "01/19/2021 Hell n Blazes Run Club"


def test_gpx_altitude_counts_as_gps_and_missing_elevation_as_none():
    assert gpx_track("msimms__run_03_iphone_4s.gpx").altitude_source == "gps"
    assert gpx_track("gpxpy__cerknicko-jezero-without-elevations.gpx").altitude_source == "none"


def test_multi_track_gpx_becomes_one_activity_with_pauses_between_tracks():
    track = gpx_track("gpxpy__cerknicko-jezero.gpx")
    assert track.timestamps.size == 296
    assert track.pauses and all(a < b for a, b in track.pauses)
    assert track.distance_m == pytest.approx(4580, rel=0.01)  # gpxpy length_2d


def test_empty_segment_is_ignored():
    track = gpx_track("gpxpy__track-with-empty-segment.gpx")
    assert track.timestamps.size == 9
    assert track.distance_m == pytest.approx(86, abs=2)


def test_broken_clock_gpx_keeps_its_points_but_no_speeds():
    track = gpx_track("gpxpy__Mojstrovka.gpx")
    assert track.start_time.year == 1901
    assert not np.isfinite(track.speed).any()


def test_mixed_naive_and_aware_times_are_both_utc():
    gpx = (b'<?xml version="1.0"?><gpx version="1.1" creator="t" '
           b'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
           b'<trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt>'
           b'<trkpt lat="1" lon="1.001"><time>2020-01-01T00:00:30</time></trkpt>'
           b'</trkseg></trk></gpx>')
    track = parse_gpx(gpx)
    assert list(np.diff(track.timestamps)) == [30.0]


def test_route_without_times_is_refused():
    gpx = (b'<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
           b'<trk><trkseg><trkpt lat="1" lon="1"/><trkpt lat="1" lon="2"/></trkseg></trk></gpx>')
    with pytest.raises(InvalidFile, match="route"):
        parse_gpx(gpx)


def test_strava_numeric_type_means_run():
    gpx = (b'<gpx version="1.1" creator="StravaGPX" xmlns="http://www.topografix.com/GPX/1/1">'
           b'<trk><type>9</type><trkseg><trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time>'
           b'</trkpt></trkseg></trk></gpx>')
    assert parse_gpx(gpx).sport == "running"
