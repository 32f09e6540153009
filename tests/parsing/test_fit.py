from __future__ import annotations

import numpy as np
import pytest

from tests.parsing.conftest import FIT_FILES, INVALID_FIT, MULTISPORT_FIT, NON_RUNNING_FIT, fit_tracks, ids
from workers.parsing.fit import parse_fit
from workers.parsing.track import InvalidFile


@pytest.mark.parametrize("path", FIT_FILES, ids=ids(FIT_FILES))
def test_every_real_fit_file_parses_with_equal_length_arrays(path):
    tracks = fit_tracks(path.name)
    assert tracks
    for track in tracks:
        n = track.timestamps.size
        for arr in (track.distance, track.lat, track.lon, track.altitude, track.speed,
                    track.cadence, track.heart_rate, track.stance_time_balance):
            assert arr.size == n
        assert np.all(np.diff(track.timestamps) >= 0)
        assert track.start_time.tzinfo is not None


@pytest.mark.parametrize("path", FIT_FILES, ids=ids(FIT_FILES))
def test_running_files_are_runs_and_others_keep_their_sport(path):
    sports = [t.sport for t in fit_tracks(path.name)]
    if path.name == MULTISPORT_FIT:
        assert sports == ["swimming", "transition", "cycling", "transition", "running"]
    elif path.name in NON_RUNNING_FIT:
        assert sports == [NON_RUNNING_FIT[path.name]]
    else:
        assert sports == ["running"]


@pytest.mark.parametrize("path", FIT_FILES, ids=ids(FIT_FILES))
def test_parsed_distance_agrees_with_the_session_total(path):
    for track in fit_tracks(path.name):
        total = track.totals.distance_m
        if not total:
            continue
        # 1%; legs under 500 m (triathlon transitions) get 10 m for the leg-boundary sample.
        tolerance = 0.01 * total if total >= 500 else 10.0
        assert abs(track.distance_m - total) <= tolerance, (track.distance_m, total)


@pytest.mark.parametrize("path", INVALID_FIT, ids=ids(INVALID_FIT))
def test_corrupt_fit_files_raise_invalid_file(path):
    with pytest.raises(InvalidFile):
        parse_fit(path.read_bytes())


def test_fenix_track_run_has_track_sub_sport_and_positions():
    (track,) = fit_tracks("msimms__20210604_track_run_garmin_fenix_6.fit")
    assert track.sub_sport == "track"
    assert track.has_gps
    assert track.device == "garmin fenix6"
    # A 400 m oval fits in a ~200 m box; degrees must already be converted from semicircles.
    assert np.nanmax(track.lat) - np.nanmin(track.lat) < 0.003
    assert np.nanmedian(track.lat) == pytest.approx(28.18, abs=0.01)  # Melbourne, Florida
    assert np.nanmedian(track.lon) == pytest.approx(-80.60, abs=0.01)


def test_coros_track_run_parses_without_sub_sport_but_with_positions():
    (track,) = fit_tracks("msimms__20210604_track_run_coros_pace_2.fit")
    assert track.sub_sport is None
    assert track.has_gps
    assert track.device == "coros pace 2"


def test_same_track_session_on_two_watches_lines_up():
    (fenix,) = fit_tracks("msimms__20210604_track_run_garmin_fenix_6.fit")
    (coros,) = fit_tracks("msimms__20210604_track_run_coros_pace_2.fit")
    assert abs(np.nanmedian(fenix.lat) - np.nanmedian(coros.lat)) < 0.001
    assert abs(fenix.start_time.timestamp() - coros.start_time.timestamp()) < 60


def test_multisport_legs_each_start_their_distance_near_zero():
    legs = fit_tracks(MULTISPORT_FIT)
    run = legs[-1]
    assert run.is_run
    assert np.nanmin(run.distance) < 50
    assert abs(run.distance_m - 9805.92) < 98
    starts = [leg.start_time for leg in legs]
    assert starts == sorted(starts) and len(set(starts)) == 5


def test_running_cadence_is_in_steps_per_minute():
    (track,) = fit_tracks("gc__Garmin920_withFirstbeat.fit")
    assert 150 < np.nanmedian(track.cadence) < 200
    # fractional_cadence adds half steps, so odd step counts exist
    assert np.any(np.isfinite(track.cadence) & (track.cadence % 2 != 0))


def test_cycling_cadence_stays_in_revolutions_per_minute():
    (track,) = fit_tracks("fitparse__Edge810-Vector-2013-08-16-15-35-10.fit")
    assert 60 < np.nanmedian(track.cadence) < 110


def test_running_dynamics_balance_is_read():
    (track,) = fit_tracks("gc__4077461142.fit")
    balance = track.stance_time_balance[np.isfinite(track.stance_time_balance)]
    assert balance.size > 4000
    assert 45 < np.median(balance) < 55


def test_treadmill_run_is_indoor_without_gps_or_altitude():
    (track,) = fit_tracks("sportslib__6860622783.fit")
    assert track.sub_sport == "treadmill" and track.indoor
    assert not track.has_gps
    assert track.altitude_source == "none"


def test_altitude_source_follows_the_device_family():
    assert fit_tracks("gc__14211916346_ACTIVITY_FR955v18.fit")[0].altitude_source == "barometric"
    assert fit_tracks("sportslib__6909950168.fit")[0].altitude_source == "barometric"
    assert fit_tracks("fitparse__2013-02-06-12-11-14.fit")[0].altitude_source == "gps"  # FR110
    assert fit_tracks("gc__10kUNLP2014-Garmin15.fit")[0].altitude_source == "none"


def test_session_totals_are_the_devices_own_numbers():
    (track,) = fit_tracks("sportslib__garmin.fit")
    assert track.totals.ascent_m == 2295
    assert track.totals.descent_m == 1414
    assert track.totals.timer_s == pytest.approx(5 * 3600 + 39 * 60 + 3, abs=1)


def test_timer_pauses_are_stop_start_pairs():
    (track,) = fit_tracks("workoutizer__with_nones.fit")
    assert len(track.pauses) == 8  # 9 timer stops, the last one ends the activity
    assert all(stop < start for stop, start in track.pauses)
    elapsed = track.timestamps[-1] - track.timestamps[0]
    paused = sum(b - a for a, b in track.pauses)
    assert track.totals.timer_s == pytest.approx(elapsed - paused, rel=0.05)


def test_laps_fall_inside_their_leg():
    (track,) = fit_tracks("sportslib__6916728382.fit")
    assert len(track.laps) == 22
    assert sum(lap.distance_m or 0 for lap in track.laps) == pytest.approx(21524.3, rel=0.01)


def test_misaligned_coros_ride_is_read_although_pypi_fitparse_rejects_it():
    (track,) = fit_tracks("fitparse__coros-pace-2-cycling-misaligned-fields.fit")
    assert track.sport == "cycling"
    assert track.totals.ascent_m == 938


def test_non_fit_bytes_are_refused():
    with pytest.raises(InvalidFile):
        parse_fit(b"<gpx></gpx>" * 3)
