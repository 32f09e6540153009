"""The `kneeguard` command as tools use it: JSON contracts and exit codes. In-process: the
process itself is tests/cli/test_import_cli.py's (docs/decisions.md, "CI under 8 minutes")."""

import json
import os

import pytest

from tests.helpers import Ran, invoke_cli

TRACKS = ["activities/fit/msimms__20210604_track_run_coros_pace_2.fit",
          "activities/fit/msimms__20210604_track_run_garmin_fenix_6.fit"]
ACTIVITY_KEYS = {"id", "file", "sport", "sub_sport", "start_time", "distance_m", "moving_time_s",
                 "indoor", "elevation", "route", "dynamics"}


def run(*args: str, cwd=None) -> Ran:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if cwd is not None:  # keep each test's data in its own folder, never in the user's home
        env["KNEEGUARD_DATA_DIR"] = str(cwd)
    return invoke_cli(env, *args, cwd=cwd)


@pytest.fixture(scope="module")
def document(data_dir, tmp_path_factory):
    bad = tmp_path_factory.mktemp("bad") / "broken.fit"
    bad.write_bytes(b"not a fit file at all")
    done = run("analyze", "--json", *(str(data_dir / t) for t in TRACKS), str(bad),
               str(data_dir / "activities/gpx/msimms__run_03_garmin.gpx"),
               cwd=tmp_path_factory.mktemp("cwd"))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_analyze_json_follows_the_v1_contract(document):
    assert document["schema"] == "kneeguard.analysis/v1"
    assert set(document) >= {"schema", "activities", "weeks", "findings", "skipped"}
    for a in document["activities"]:
        assert set(a) >= ACTIVITY_KEYS
        assert set(a["elevation"]) >= {"gain_m", "loss_m", "loss_m_per_km", "km_grade_le_minus5",
                                       "km_grade_le_minus10", "altitude_source", "device_loss_m",
                                       "samples_loss_m", "loss_source"}
        assert set(a["route"]) >= {"has_gps", "shape", "direction", "track_laps"}
        assert set(a["dynamics"]) >= {"cadence_spm", "gct_balance_left_pct"}
        assert a["start_time"].endswith(("Z", "+00:00"))
    for w in document["weeks"]:
        assert set(w) >= {"start", "distance_m", "loss_m", "runs"}


def test_analyze_reports_a_broken_file_as_skipped_and_still_exits_0(document):
    assert [s["file"].endswith("broken.fit") for s in document["skipped"]] == [True]
    assert document["skipped"][0]["reason"]


def test_both_watches_of_one_track_session_are_ccw_track_runs(document):
    tracks = [a for a in document["activities"] if "track_run" in a["file"]]
    assert len(tracks) == 2
    assert {a["route"]["shape"] for a in tracks} == {"track"}
    assert {a["route"]["direction"] for a in tracks} == {"ccw"}
    laps = [a["route"]["track_laps"] for a in tracks]
    assert abs(laps[0] - laps[1]) <= 1


def test_analyze_without_json_prints_a_readable_report(data_dir, tmp_path):
    done = run("analyze", str(data_dir / TRACKS[0]), cwd=tmp_path)
    assert done.returncode == 0
    assert "Findings" in done.stdout and "km" in done.stdout


@pytest.mark.parametrize("args", [["analyze"], ["analyze", "/no/such/file"],
                                  ["analyze", "--as-of", "yesterday", "x"], ["frobnicate"]])
def test_usage_errors_exit_2(args, tmp_path):
    assert run(*args, cwd=tmp_path).returncode == 2


def test_athletes_add_prints_an_id_and_a_token(tmp_path):
    done = run("athletes", "add", "new@example.com", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["id"].startswith("ath_") and out["token"].startswith("kg_")
    assert run("athletes", "add", "not-an-email", cwd=tmp_path).returncode == 2


def test_a_command_that_creates_a_new_empty_database_says_so(tmp_path):
    first = run("athletes", "add", "one@example.com", cwd=tmp_path)
    assert first.returncode == 0 and "creating a new, empty one" in first.stderr
    again = run("athletes", "add", "two@example.com", cwd=tmp_path)
    assert again.returncode == 0 and "creating a new" not in again.stderr


def test_serve_links_point_at_its_own_port_unless_public_url_is_set():
    from service.cli import serve_settings
    from service.infra.settings import Settings

    base = Settings()
    assert serve_settings(base, "127.0.0.1", 8123, None).public_url == "http://127.0.0.1:8123"
    assert serve_settings(base, "0.0.0.0", 9000, "").public_url == "http://127.0.0.1:9000"
    given = base.with_overrides(public_url="https://kg.example.org")
    assert serve_settings(given, "0.0.0.0", 9000, "https://kg.example.org") is given
