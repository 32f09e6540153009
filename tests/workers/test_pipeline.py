"""The pipeline end to end: upload → analyze → findings → deliveries, and nothing lost on a queue
flush. Runs on the embedded queue, and on real PostgreSQL + Redis when configured."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from service.infra import jobs, sweeper
from service.models import Activity, Delivery, Finding
from tests.helpers import START, analyze_all, athlete_with_token, count, spike_history, store_runs

REPO = Path(__file__).resolve().parents[2]


def test_a_spike_in_stored_history_becomes_one_finding(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    ids = spike_history(runtime, athlete_id)
    analyze_all(runtime, ids)
    with runtime.db.session() as s:
        spikes = s.scalars(select(Finding).where(Finding.rule == "single_run_spike")).all()
        assert [(f.activity_id, f.severity) for f in spikes] == [(ids[-1], "caution")]
        assert spikes[0].value == pytest.approx(1.8, abs=0.01)
        assert spikes[0].sources == ["upload"]


def test_re_running_an_analysis_creates_no_second_finding_or_delivery(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    ids = spike_history(runtime, athlete_id)
    analyze_all(runtime, ids)
    findings, deliveries = count(runtime, Finding), count(runtime, Delivery)
    assert findings >= 1 and deliveries >= 1  # the email at least (on by default)
    with runtime.db.session() as s:
        s.execute(update(Activity).where(Activity.id == ids[-1]).values(status="parsed"))
    analyze_all(runtime, [ids[-1]])
    assert count(runtime, Finding) == findings
    assert count(runtime, Delivery) == deliveries


def test_flushing_redis_while_work_is_pending_loses_nothing(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    ids = spike_history(runtime, athlete_id)
    for activity_id in ids:
        jobs.analyze_activity(runtime, activity_id)
    runtime.queue.redis.flushdb()  # the queue forgets everything (its own database only: others run too)
    assert runtime.queue.pending_count() == 0
    assert sweeper.sweep(runtime) == len(ids)  # rows still say "parsed": re-enqueued
    runtime.queue.drain()
    assert count(runtime, Activity, Activity.status == "analyzed") == len(ids)
    assert count(runtime, Finding, Finding.rule == "single_run_spike") == 1


def test_a_sweep_does_not_enqueue_what_is_already_queued(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    ids = store_runs(runtime, athlete_id, {0: 5.0})
    assert sweeper.sweep(runtime) == 1
    assert sweeper.sweep(runtime) == 0
    assert runtime.queue.queues["analyze"].count == len(ids)


def test_emails_land_in_the_outbox_once(runtime, settings):
    athlete_id, _ = athlete_with_token(runtime)
    analyze_all(runtime, spike_history(runtime, athlete_id))
    outbox = Path(settings.email_outbox_dir)
    with runtime.db.session() as s:
        sent = s.scalars(select(Delivery).where(Delivery.channel == "email")).all()
        assert sent and {d.status for d in sent} == {"sent"}
        mails = [(outbox / f"{d.id}.eml").read_text() for d in sent]
    spikes = [m for m in mails if "longer than your longest run" in m]
    assert len(spikes) == 1 and "List-Unsubscribe" in spikes[0]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (REDIS_URL)")
def test_a_job_on_real_redis_is_processed_by_kneeguard_worker(runtime, settings):
    athlete_id, _ = athlete_with_token(runtime)
    ids = store_runs(runtime, athlete_id, {0: 5.0, 2: 6.0})
    for activity_id in ids:
        jobs.analyze_activity(runtime, activity_id)
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               KNEEGUARD_SECRET_KEY=settings.secret_key,
               KNEEGUARD_ENCRYPTION_KEYS=",".join(settings.encryption_keys),
               EMAIL_OUTBOX_DIR=settings.email_outbox_dir, PYTHONPATH=str(REPO))
    cli = Path(sys.executable).with_name("kneeguard")
    done = subprocess.run([str(cli), "worker", "--burst"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert count(runtime, Activity, Activity.status == "analyzed") == 2
    lines = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    job_lines = [x for x in lines if x.get("msg") == "analysed"]
    assert job_lines and all(x.get("job_id") for x in job_lines)


def test_periodic_jobs_are_enqueued_once_per_period(runtime):
    t = datetime(2026, 11, 21, 10, 5, tzinfo=UTC)
    assert sweeper.periodic(runtime, t) == 1  # the hourly purge (Strava is not configured)
    assert sweeper.periodic(runtime, t + timedelta(minutes=30)) == 0
    runtime.queue.drain()
    assert sweeper.periodic(runtime, t + timedelta(hours=1)) == 1
    runtime.queue.drain()  # and the purge job itself runs cleanly


def test_removing_a_provider_run_re_analyses_the_days_that_leaned_on_it(runtime):
    """A 20 km Garmin run hid the spike of a later 14 km run; once the Garmin data is gone
    (deregistration), the later day is re-analysed and the spike is found."""
    from service.domain import activities
    from service.integrations.garmin import connection as garmin_service
    from testkit.synthetic import run_track

    athlete_id, _ = athlete_with_token(runtime)
    store_runs(runtime, athlete_id, {d: 10.0 for d in range(0, 20, 2)})
    start = START
    with runtime.db.session() as s:
        activities.store_track(s, athlete_id, run_track(start + timedelta(days=27), 20.0),
                               "garmin", "long.fit")
        later = activities.store_track(s, athlete_id, run_track(start + timedelta(days=29), 14.0),
                                       "upload", "later.fit").created[0]["id"]
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert count(runtime, Finding, Finding.activity_id == later) == 0
    with runtime.db.session() as s:
        assert garmin_service.purge(s, athlete_id)[0]["reanalysed"] >= 1
    sweeper.sweep(runtime)
    runtime.queue.drain()
    with runtime.db.session() as s:
        spike = s.scalar(select(Finding).where(Finding.activity_id == later,
                                               Finding.rule == "single_run_spike"))
    assert spike is not None and spike.value == pytest.approx(1.4, abs=0.01)


def test_the_embedded_worker_thread_runs_jobs_by_itself(runtime):
    """`kneeguard serve` runs jobs in a background thread, where Python forbids signal handlers:
    the worker must cope (a regression once left every job pending)."""
    import time

    athlete_id, _ = athlete_with_token(runtime)
    ids = store_runs(runtime, athlete_id, {0: 5.0, 2: 6.0})
    runtime.queue.start_embedded_worker(interval=0.05)
    try:
        for activity_id in ids:
            jobs.analyze_activity(runtime, activity_id)
        deadline = time.monotonic() + 60
        while (count(runtime, Activity, Activity.status == "analyzed") < len(ids)
               and time.monotonic() < deadline):
            time.sleep(0.05)
    finally:
        runtime.queue.stop_embedded_worker()
    assert count(runtime, Activity, Activity.status == "analyzed") == len(ids)


def test_an_old_history_gets_findings_but_no_emails(runtime):
    """Importing years-old runs records their findings (and tells integrators) but does not email
    the runner about a spike from long ago."""
    from service.domain import activities
    from testkit.synthetic import run_track

    athlete_id, _ = athlete_with_token(runtime)
    start = datetime(2020, 3, 1, 7, 0, tzinfo=UTC)
    with runtime.db.session() as s:
        ids = []
        for day, km in [*((d, 10.0) for d in range(0, 30, 2)), (31, 18.0)]:
            ids += [c["id"] for c in activities.store_track(
                s, athlete_id, run_track(start + timedelta(days=day), km), "upload",
                f"{day}.fit").created]
    analyze_all(runtime, ids)
    assert count(runtime, Finding, Finding.rule == "single_run_spike") == 1
    assert count(runtime, Delivery, Delivery.channel == "email") == 0


def test_an_older_run_arriving_late_re_analyses_the_later_days(runtime):
    """Backfills deliver in any order: the newest run analysed alone has no history to compare
    with; once the older runs arrive, its day is re-analysed and the spike is found."""
    athlete_id, _ = athlete_with_token(runtime)
    newest = store_runs(runtime, athlete_id, {31: 18.0})
    analyze_all(runtime, newest)
    assert count(runtime, Finding, Finding.activity_id == newest[0]) == 0
    older = store_runs(runtime, athlete_id, {d: 10.0 for d in range(0, 30, 2)})
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert count(runtime, Activity, Activity.status == "analyzed") == len(older) + 1
    assert count(runtime, Finding, Finding.activity_id == newest[0],
                 Finding.rule == "single_run_spike") == 1


def test_reading_old_runs_from_columns_gives_the_same_findings_as_full_metrics(runtime):
    """load_history decodes full metrics only for the last 70 days; older runs come from plain
    columns. Over a long, varied history every day's findings must be identical."""
    from workers.analysis import evaluate
    from workers.analyze import load_history

    athlete_id, _ = athlete_with_token(runtime)
    days = {d: 6.0 + (d * 7 % 11) for d in range(0, 200, 2)}
    days.update({150: 30.0, 171: 35.0, 199: 21.0})
    store_runs(runtime, athlete_id, days)
    with runtime.db.session() as s:
        full = load_history(s, athlete_id)
        for offset in (120, 150, 171, 199):
            day = (START + timedelta(days=offset)).date()
            light = load_history(s, athlete_id, day)
            assert [f.to_dict() for f in evaluate(light, day)] == \
                [f.to_dict() for f in evaluate(full, day)]
