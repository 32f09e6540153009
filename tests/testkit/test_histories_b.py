"""Cohort B histories: deterministic, parseable by the Strava streams parser, patterns inside runs."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from testkit import histories_b
from testkit.histories_b import BUILDERS, INFO_KINDS, QUIET_KINDS, WARN_KINDS, runners
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


def test_another_seed_moves_samples_but_not_a_pattern_fixed_by_its_plan(cohort):
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
                tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(a["timezone"].split()[-1])).utcoffset()
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
            kinds = {"warn": WARN_KINDS, "quiet": QUIET_KINDS, "warn_info": INFO_KINDS}[p.expect]
            assert p.kind in kinds, (runner.name, p.kind, p.expect)
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


def _km_in(runs, first: date, last: date) -> float:
    return sum(r.activity["distance"] for r in runs if first <= _local_day(r) <= last) / 1000.0


def _usual_week(runs, before: date) -> float:
    """Median Mon-Sun total of the 8 weeks before `before` (weeks with no run count as breaks)."""
    mon = before - timedelta(before.weekday())
    weeks = [_km_in(runs, mon - timedelta(7 * k), mon - timedelta(7 * k - 6)) for k in range(1, 9)]
    return float(np.median([w for w in weeks if w > 0]))


def _check_pattern(kind: str, runs, start: date) -> None:
    """The numbers each pattern promises in the module docstring, measured on the generated runs."""
    on_day = [r for r in runs if _local_day(r) == start]
    before = [r for r in runs if start - timedelta(30) <= _local_day(r) < start]
    if kind in ("rolling_week_jump", "big_week", "too_much_too_soon"):
        assert _km_in(runs, start - timedelta(6), start) >= 1.4 * _usual_week(runs, start - timedelta(7))
    elif kind == "single_long_run":
        assert max(r.truth["km"] for r in on_day) >= 1.55 * max(r.truth["km"] for r in before)
    elif kind == "comeback_ramp":
        gap = [r for r in runs if start - timedelta(26) <= _local_day(r) < start - timedelta(4)]  # 22 days
        assert not gap and _km_in(runs, start - timedelta(4), start) >= 29.0
    elif kind in ("mountain_race", "novel_descent"):
        need = 1500.0 if kind == "mountain_race" else 400.0
        assert max(r.truth["true_descent_m"] for r in on_day) >= need
        assert max(r.truth["true_descent_m"] for r in before) < 100.0
    elif kind == "one_way_loop":
        window = [r for r in runs if start - timedelta(21) <= _local_day(r) <= start]
        habit = Counter((r.truth["route"], r.truth["direction"]) for r in window).most_common(1)[0][1]
        assert habit >= 0.8 * len(window)
    elif kind == "track_block":
        laps = [r for r in runs if start - timedelta(20) <= _local_day(r) <= start
                and r.truth["surface"] == "track"]
        assert sum(r.truth["km"] for r in laps) >= 45.0
        assert {r.truth["direction"] for r in laps} == {"anticlockwise"}
    else:
        raise AssertionError(f"no check for {kind}")


def test_each_warn_pattern_holds_the_numbers_it_promises(cohort):
    checked = 0
    for runner in cohort:
        for p in runner.patterns:
            if p.expect == "warn":
                _check_pattern(p.kind, runner.runs, p.start)
                checked += 1
    assert checked == sum(r.kind == "pattern" for r in cohort)


def test_controls_stay_within_a_coachs_limits_after_their_first_month(cohort):
    """Our own coaching limits (not the engine's): no week above 1.25x the biggest of the previous
    four, no run above 1.35x the longest of the previous 30 days (races and comebacks aside)."""
    for runner in (r for r in cohort if r.kind == "control"):
        runs = runner.runs
        first = min(_local_day(r) for r in runs)
        back = [p.start for p in runner.patterns if p.kind == "return_first_run"]
        for r in runs[1:]:
            day = _local_day(r)
            comeback = back and back[0] <= day < back[0] + timedelta(49)
            if day < first + timedelta(30) or r.truth["kind"] == "race" or comeback:
                continue
            prior = [x.truth["km"] for x in runs if day - timedelta(30) <= _local_day(x) < day]
            assert r.truth["km"] <= 1.35 * max(prior), (runner.name, day)
            mon = day - timedelta(day.weekday())
            this = _km_in(runs, mon, mon + timedelta(6))
            earlier = max(_km_in(runs, mon - timedelta(7 * k), mon - timedelta(7 * k - 6))
                          for k in range(1, 5))
            assert this <= 1.25 * earlier, (runner.name, mon, this, earlier)
