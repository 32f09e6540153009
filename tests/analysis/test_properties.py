"""Property tests: whatever the history, ratios stay finite and the output is strict JSON."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit.synthetic import START, run
from workers.analysis import RouteMetrics, evaluate, evaluate_dates, weekly_table
from workers.analysis.report import build_document

BOUNDED = settings(max_examples=60, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])

runs = st.lists(
    st.tuples(
        st.integers(0, 70),  # day
        st.floats(0.0, 60.0),  # km (0 = a manual entry without distance)
        st.floats(0.0, 2500.0),  # loss m
        st.sampled_from(["barometric", "gps", ""]),
        st.booleans(),  # indoor
        st.floats(0.0, 12.0),  # track km ccw
    ),
    max_size=8,
)


def build(spec):
    return [run(day, km, loss=loss, altitude=alt, indoor=indoor, ident=f"a{n}",
                route=RouteMetrics(has_gps=True, shape="track" if track else "loop",
                                   track_km_ccw=track, segment_keys=[n % 3, 7],
                                   segment_m=[int(km * 500), int(km * 500)]))
            for n, (day, km, loss, alt, indoor, track) in enumerate(spec)]


def finite_everywhere(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_everywhere(v) for v in value)
    return True


@BOUNDED
@given(runs, st.integers(0, 75))
def test_findings_on_any_small_history_are_finite_and_strict_json(spec, as_of):
    history = build(spec)
    findings = evaluate(history, START + timedelta(days=as_of))
    rows = [f.to_dict() for f in findings]
    json.dumps(rows, allow_nan=False)
    assert all(finite_everywhere(row) for row in rows)
    assert all(f.severity in ("info", "caution", "high") for f in findings)


@BOUNDED
@given(runs)
def test_evaluating_every_date_never_duplicates_a_finding(spec):
    findings = evaluate_dates(build(spec))
    keys = [f.key for f in findings]
    assert len(keys) == len(set(keys))
    assert [f.date for f in findings] == sorted(f.date for f in findings)


@BOUNDED
@given(runs)
def test_the_document_for_any_small_history_is_strict_json(spec):
    history = build(spec)
    items = [("f.fit", h.id, h.metrics, h.source) for h in history]
    doc = build_document(items, evaluate_dates(history), weekly_table(history), [])
    assert finite_everywhere(json.loads(json.dumps(doc, allow_nan=False)))


def test_empty_history_has_no_findings_and_no_weeks():
    assert evaluate([], START) == []
    assert evaluate_dates([]) == []
    assert weekly_table([]) == []
