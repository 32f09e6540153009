"""The findings of a history never depend on the order its runs arrived in.

Property (Hypothesis): one history stored oldest-first for runner A, and the same runs stored in a
shuffled order for runner B — analysing after every arrival, as the real pipeline does (store,
commit, analyze job, sweeper re-analyses what the arrival marked) — give the same findings. The
histories are built to reach every look-back: gaps longer than the spike window (return to
running), a shoe pair crossing its mileage marks, hills (descent rules), cadence changes against the
8-week baseline, and spans longer than the baselines. Real database and queue (PostgreSQL + Redis
when configured).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.domain import activities
from service.infra import sweeper
from service.models import Activity, Athlete, Finding
from testkit.synthetic import run_track
from tests.helpers import athlete_with_token
from workers.analysis import RULE_IDS, Thresholds
from workers.analysis.windows import lookback_days, rule_windows

START = datetime(2025, 1, 6, 7, 0, tzinfo=UTC)
# Low shoe marks so a short history crosses them; everything else at the defaults.
OWN_THRESHOLDS = {"shoe_info_km": 60, "shoe_caution_km": 130}

a_run = st.tuples(
    st.integers(0, 200),  # day offset: spans longer than every baseline, with gaps
    st.sampled_from([5.0, 8.0, 10.0, 14.0, 21.0]),  # km
    st.sampled_from([0.0, 150.0, 450.0]),  # climb = descent, metres
    st.sampled_from([160.0, 172.0, 182.0]),  # cadence at the same pace
    st.sampled_from([None, "shoe-a"]),  # gear
)
histories = st.lists(a_run, min_size=3, max_size=14, unique_by=lambda r: r[0])


def make_track(day: int, km: float, climb: float, cadence: float, gear: str | None):
    track = run_track(START + timedelta(days=day), km)
    half = km * 500.0
    along = np.where(track.distance <= half, track.distance, 2 * half - track.distance)
    track.altitude = 300.0 + climb * along / max(half, 1.0)
    track.cadence = np.full(track.distance.size, cadence)
    track.gear_id = gear
    return track


def settle(runtime) -> None:
    """Run the analyses an arrival caused, as the worker and the sweeper would."""
    for _ in range(20):
        sweeper.sweep(runtime)
        runtime.queue.drain()
        with runtime.db.session() as s:
            waiting = s.scalar(select(func.count()).select_from(Activity).where(
                Activity.status == "parsed"))
        if not waiting:
            return
    raise AssertionError("re-analysis did not settle")


def arrive(runtime, athlete_id: str, runs: list) -> None:
    for day, km, climb, cadence, gear in runs:
        with runtime.db.session() as s:
            result = activities.store_track(s, athlete_id, make_track(day, km, climb, cadence,
                                                                      gear),
                                            "upload", f"day{day}.fit")
        activities.enqueue_analysis(runtime, result)
        settle(runtime)


def findings(runtime, athlete_id: str) -> set[tuple]:
    with runtime.db.session() as s:
        start_of = dict(s.execute(select(Activity.id, Activity.start_time).where(
            Activity.athlete_id == athlete_id)).all())
        rows = s.scalars(select(Finding).where(Finding.athlete_id == athlete_id)).all()
        return {(f.rule, f.date, f.severity, start_of.get(f.activity_id),
                 None if f.value is None else round(f.value, 6)) for f in rows}


def new_runner(runtime, email: str) -> str:
    athlete_id, _ = athlete_with_token(runtime, email)
    with runtime.db.session() as s:
        s.get(Athlete, athlete_id).thresholds = dict(OWN_THRESHOLDS)
    return athlete_id


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(runs=histories, order=st.randoms(use_true_random=False))
def test_shuffled_arrival_gives_the_in_order_findings(runtime, runs, order):
    tag = f"{len(runs)}-{order.random():.12f}"
    in_order = new_runner(runtime, f"a-{tag}@example.com")
    shuffled = new_runner(runtime, f"b-{tag}@example.com")
    arrive(runtime, in_order, sorted(runs))
    mixed = list(runs)
    order.shuffle(mixed)
    arrive(runtime, shuffled, mixed)
    assert findings(runtime, shuffled) == findings(runtime, in_order)


def test_the_histories_above_reach_the_unbounded_look_backs(runtime):
    """Guard against a property test that passes because nothing fires: a fixed history with a
    comeback after a long gap and a shoe crossing its marks, arriving newest first."""
    runs = [(0, 10.0, 0.0, 172.0, "shoe-a"), (2, 10.0, 0.0, 172.0, "shoe-a"),
            (4, 21.0, 450.0, 172.0, "shoe-a"), (60, 14.0, 0.0, 160.0, "shoe-a"),
            (62, 21.0, 450.0, 172.0, "shoe-a"), (64, 21.0, 150.0, 182.0, "shoe-a"),
            (66, 21.0, 0.0, 172.0, "shoe-a"), (68, 21.0, 0.0, 172.0, "shoe-a"),
            # longer than anything before the break: a spike even against the pre-break longest
            (70, 30.0, 0.0, 172.0, "shoe-a")]
    in_order = new_runner(runtime, "fixed-a@example.com")
    newest_first = new_runner(runtime, "fixed-b@example.com")
    arrive(runtime, in_order, runs)
    arrive(runtime, newest_first, list(reversed(runs)))
    got = findings(runtime, in_order)
    assert {"return_to_running", "shoe_mileage", "single_run_spike"} <= {f[0] for f in got}
    assert findings(runtime, newest_first) == got


def test_every_rule_has_a_look_back_and_the_longest_covers_the_baselines():
    t = Thresholds()
    assert set(rule_windows(t)) == set(RULE_IDS)
    assert lookback_days(t) > max(t.gct_baseline_days, t.cadence_baseline_days, 35)
    longer = t.merged({"cadence_baseline_days": 400})
    assert lookback_days(longer) == 401


def test_runs_among_the_first_few_re_analyse_the_days_they_make_judgeable(runtime):
    """The ratio rules and the knee tolerance need `min_history_runs` runs before they speak, and
    count every run since the first, however old. Recent runs first, then three runs from more
    than a year before them (the fault battery's runners: synthetic runs, then older real FIT
    files): the second and third old runs are outside every window of the recent runs, yet they
    complete the history those runs are judged against."""
    recent = [(500 + 2 * k, 10.0 + 2 * (k % 3), 0.0, 172.0, None) for k in range(8)]
    old = [(0, 8.0, 0.0, 172.0, None), (3, 8.0, 0.0, 172.0, None), (6, 8.0, 0.0, 172.0, None)]
    in_order = new_runner(runtime, "complete-a@example.com")
    recent_first = new_runner(runtime, "complete-b@example.com")
    arrive(runtime, in_order, old + recent)
    arrive(runtime, recent_first, recent + old)
    got = findings(runtime, in_order)
    assert {f for f in got if f[1] >= (START + timedelta(days=500)).date()}, "nothing to compare"
    assert findings(runtime, recent_first) == got
