"""The kneeguard.analysis/v1 document (DESIGN §5) and the runner's text report."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np

from testkit.synthetic import START, make_track, oval, polyline
from workers.analysis import SCHEMA, analyze_tracks, render_text
from workers.parsing.track import Skip

ACTIVITY_KEYS = {"id", "file", "sport", "sub_sport", "start_time", "distance_m", "moving_time_s",
                 "indoor", "elevation", "route", "dynamics"}
ELEVATION_KEYS = {"gain_m", "loss_m", "loss_m_per_km", "km_grade_le_minus5", "km_grade_le_minus10",
                  "altitude_source", "device_loss_m"}
FINDING_KEYS = {"rule", "severity", "activity", "date", "value", "threshold", "message",
                "evidence", "sources"}


def history_with_a_spike():
    x, y = polyline([(0, 0), (2500, 0), (2500, 1000), (0, 1000), (0, 0)])  # 7 km loop
    tracks = [(f"run{d}.fit", make_track(x, y, altitude=np.full(x.size, 10.0), day=d))
              for d in range(0, 30, 2)]
    long_x, long_y = polyline([(0, 0), (5000, 0), (5000, 1000), (0, 1000), (0, 0)])  # 12 km
    tracks.append(("long.fit", make_track(long_x, long_y, altitude=np.full(long_x.size, 10.0),
                                          day=31)))
    return tracks


def test_document_has_exactly_the_contract_keys():
    doc = json.loads(json.dumps(analyze_tracks(history_with_a_spike(),
                                               skipped=[Skip("bad.fit", "corrupt")]),
                                allow_nan=False))
    assert doc["schema"] == SCHEMA
    assert {"schema", "activities", "weeks", "findings", "skipped"} <= set(doc)
    for activity in doc["activities"]:
        assert ACTIVITY_KEYS <= set(activity)
        assert ELEVATION_KEYS <= set(activity["elevation"])
        assert {"has_gps", "shape", "direction", "track_laps"} <= set(activity["route"])
        assert {"cadence_spm", "gct_balance_left_pct"} <= set(activity["dynamics"])
        assert activity["start_time"].endswith("Z")
    week = {k: doc["weeks"][0][k] for k in ("start", "distance_m", "loss_m", "runs")}
    assert week == {"start": "2025-01-06", "distance_m": doc["weeks"][0]["distance_m"],
                    "loss_m": 0.0, "runs": 4}  # the contract's keys; additions are allowed
    assert doc["skipped"] == [{"file": "bad.fit", "reason": "corrupt"}]
    spike = next(f for f in doc["findings"] if f["rule"] == "single_run_spike")
    assert set(spike) == FINDING_KEYS
    assert spike["date"] == "2025-02-06" and spike["activity"].startswith("long.fit@")
    assert spike["severity"] == "caution" and spike["sources"] == ["upload"]


def test_spike_in_the_middle_of_a_history_is_reported_on_its_own_date():
    tracks = history_with_a_spike()
    x, y = polyline([(0, 0), (2500, 0), (2500, 1000), (0, 1000), (0, 0)])
    tracks += [(f"after{d}.fit", make_track(x, y, day=d)) for d in (33, 35)]
    dates = [f["date"] for f in analyze_tracks(tracks)["findings"]
             if f["rule"] == "single_run_spike"]
    assert dates == ["2025-02-06"]


def test_as_of_evaluates_only_that_date_on_the_history_up_to_it():
    doc = analyze_tracks(history_with_a_spike(), as_of=START + timedelta(days=31))
    assert {f["date"] for f in doc["findings"]} == {"2025-02-06"}
    assert analyze_tracks(history_with_a_spike(), as_of=START + timedelta(days=30))["findings"] == []


def test_text_report_has_runs_weeks_and_explained_findings():
    x, y = oval(laps=10)
    tracks = history_with_a_spike() + [("track.fit", make_track(x, y, day=32))]
    text = render_text(analyze_tracks(tracks))
    assert "Runs (17)" in text and "track ccw 10L" in text
    assert "Weeks (Monday, local time)" in text
    assert "CAUTION single_run_spike" in text and "Frandsen" in text


def test_empty_input_gives_an_empty_but_complete_document():
    doc = analyze_tracks([])
    assert doc == {"schema": SCHEMA, "activities": [], "weeks": [], "findings": [], "skipped": [],
                   "digests": [], "notes": [],
                   "context": []}
    assert "No runs found." in render_text(doc)
