"""Cohort B histories: deterministic, parseable by the Strava streams parser, patterns inside runs."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from testkit import histories_b
from testkit.histories_b import BUILDERS, runners
from workers.parsing.devices import is_barometric
from workers.parsing.streams import parse_strava_streams

SEED = 2


@pytest.fixture(scope="module")
def cohort():
    return runners(SEED)


def _local_day(run) -> date:
    return datetime.fromisoformat(run.activity["start_date_local"].rstrip("Z")).date()


def _dump(runner) -> str:
    return json.dumps([(r.activity, r.streams) for r in runner.runs]) + repr(runner.patterns)


def test_same_seed_gives_the_same_runner_whether_built_alone_or_in_the_set(cohort):
    for k in (4, 15):
        assert _dump(BUILDERS[k](SEED, k)) == _dump(cohort[k])


def test_another_seed_moves_samples_but_not_the_planned_patterns(cohort):
    other = BUILDERS[15](SEED + 1, 15)
    assert _dump(other) != _dump(cohort[15])
    assert [(p.kind, p.start) for p in other.patterns] == [(p.kind, p.start) for p in cohort[15].patterns]


def test_every_run_parses_as_a_run_with_its_own_dates_and_altitude_source(cohort):
    for runner in cohort:
        for run in runner.runs:
            a, s = run.activity, run.streams
            track = parse_strava_streams(s, a)
            assert track.sport == "running", (runner.name, a["name"])
            assert track.start_time.strftime("%Y-%m-%dT%H:%M:%SZ") == a["start_date"]
            offset = datetime.fromisoformat(a["start_date"].rstrip("Z")).replace(
                tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(runner.timezone)).utcoffset()
            assert track.utc_offset_s == offset.total_seconds()
            assert track.altitude_source == ("barometric" if is_barometric(a["device_name"]) else "strava")
            steps = np.diff(s["time"]["data"])
            assert steps.min() >= 1 and steps.max() <= 5, (runner.name, a["id"])
            assert abs(np.nanmax(track.distance) - a["distance"]) < 1.0
            assert abs(a["distance"] / 1000.0 - run.truth["km"]) < 0.05 * run.truth["km"] + 0.3


def test_each_pattern_starts_inside_its_runners_history(cohort):
    for runner in cohort:
        days = sorted(_local_day(r) for r in runner.runs)
        for p in runner.patterns:
            assert days[0] <= p.start <= days[-1], (runner.name, p.kind)
            assert p.expect in ("warn", "quiet", "warn_info")
            assert p.end is None or p.start <= p.end <= days[-1]


def test_the_set_has_controls_and_patterns_over_four_to_eight_months(cohort):
    kinds = {r.kind for r in cohort}
    assert kinds == {"control", "pattern"}
    assert 20 <= len(cohort) <= 30
    for runner in cohort:
        expects = {p.expect for p in runner.patterns}
        assert ("warn" in expects) == (runner.kind == "pattern"), runner.name
        days = sorted(_local_day(r) for r in runner.runs)
        assert 120 <= (days[-1] - days[0]).days <= 245, runner.name
    assert len({r.name for r in cohort}) == len(cohort)
    assert len({r.activity["id"] for rr in cohort for r in rr.runs}) == sum(len(r.runs) for r in cohort)


def test_cli_writes_a_runner_as_json_files(tmp_path):
    assert histories_b.main(["--out", str(tmp_path), "--runner", "too_soon"]) == 0
    folder = tmp_path / "p09_too_soon_cdmx"
    meta = json.loads((folder / "runner.json").read_text())
    files = sorted(folder.glob("2*.json"))
    assert meta["patterns"][-1]["kind"] == "too_much_too_soon" and len(files) > 50
    body = json.loads(files[0].read_text())
    assert parse_strava_streams(body["streams"], body["activity"]).sport == "running"
