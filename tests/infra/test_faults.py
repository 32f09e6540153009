"""Fault injection: every row reaches a final state within two sweeper rounds, whatever happens.

- a worker SIGKILLed mid-job (a real `kneeguard worker` process and its work-horse; Redis+PostgreSQL);
- a job hash left "queued" in no queue (a worker killed between taking a job and starting it);
- `job.delete()` raising for an execution that is gone (rq >= 2), which once ended every round;
- database connections dropped with `pg_terminate_backend` during a job and between rounds;
- an exception inside the sweeper (one stage, one row, the periodic step).

Rounds are counted, not timed: the test runs the sweeper itself and checks the state after the
second round. Waits are on conditions (a heartbeat lapsing, a backend waiting on a lock), capped.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rq.executions import ExecutionRegistry
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import create_engine, func, select, text

from service.infra import jobs, sweeper
from service.models import Activity
from testkit.processes import children
from tests.helpers import athlete_with_token, store_runs

pytestmark = pytest.mark.faults
REPO = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")
REAL_REDIS = bool(os.environ.get("REDIS_URL"))


def statuses(runtime, ids) -> list[str]:
    with runtime.db.session() as s:
        return [s.get(Activity, i).status for i in ids]


def two_rounds(runtime, lease_wait: float = 0.0) -> None:
    """Sweeper round 1, (a lease passes), round 2; the worker drains after each."""
    sweeper.sweep(runtime)
    runtime.queue.drain()
    time.sleep(lease_wait)
    sweeper.sweep(runtime)
    runtime.queue.drain()


def wait_for(condition, what: str, cap_s: float = 60.0) -> None:
    deadline = time.monotonic() + cap_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def job_id(activity_id: str) -> str:
    return f"{jobs.ANALYZE.name}-{activity_id}"


# ---- orphaned job hashes (issue items 1 and 3) -------------------------------------------------

def test_a_queued_hash_in_no_queue_is_recognised_and_its_row_re_enqueued(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    [activity_id] = store_runs(runtime, athlete_id, {0: 8.0})
    jobs.analyze_activity(runtime, activity_id)
    q = runtime.queue.queues["analyze"]
    runtime.queue.redis.lrem(q.key, 0, job_id(activity_id))  # taken by a worker that died
    assert Job.fetch(job_id(activity_id), connection=runtime.queue.redis).get_status() \
        == JobStatus.QUEUED
    assert not jobs.analyze_activity(runtime, activity_id)  # the old code's answer, every round
    runtime.queue.lease_s = 0.2
    two_rounds(runtime, lease_wait=0.3)
    assert statuses(runtime, [activity_id]) == ["analyzed"]


def test_a_started_job_whose_execution_is_gone_does_not_end_the_round(runtime):
    """The state a SIGKILLed horse leaves once its heartbeat lapsed: status started, an expired
    entry in the started registry, an execution id whose hash expired. `job.delete()` raises
    `ValueError: Execution … not found in Redis` here (rq 3); the round goes on regardless."""
    athlete_id, _ = athlete_with_token(runtime)
    dead, other = store_runs(runtime, athlete_id, {0: 8.0, 2: 9.0})
    jobs.analyze_activity(runtime, dead)
    conn = runtime.queue.redis
    job = Job.fetch(job_id(dead), connection=conn)
    conn.lrem(runtime.queue.queues["analyze"].key, 0, job.id)
    job.set_status(JobStatus.STARTED)
    conn.zadd(StartedJobRegistry("analyze", connection=conn).key,
              {f"{job.id}:exec-gone": time.time() - 5})
    conn.zadd(ExecutionRegistry(job.id, connection=conn).key, {"exec-gone": time.time() + 60})
    with pytest.raises(ValueError, match="not found in Redis"):
        ExecutionRegistry(job.id, connection=conn).get_executions()  # what delete() runs into
    two_rounds(runtime)
    assert statuses(runtime, [dead, other]) == ["analyzed", "analyzed"]


# ---- an exception inside the sweeper -----------------------------------------------------------

def test_the_sweeper_survives_a_raising_stage_row_and_periodic_step(runtime, monkeypatch, caplog):
    athlete_id, _ = athlete_with_token(runtime)
    ids = store_runs(runtime, athlete_id, {0: 8.0, 2: 9.0, 4: 10.0})
    poisoned = ids[1]
    real_enqueue = jobs.enqueue

    def enqueue(rt, spec, *args, key):
        if key == poisoned:
            raise RuntimeError(f"injected failure for {key}")
        return real_enqueue(rt, spec, *args, key=key)

    def periodic(*_args):
        raise ConnectionError("injected: Redis went away")

    broken = sweeper.Stage(jobs.DELIVER, lambda now: 1 / 0)
    monkeypatch.setattr(sweeper.jobs, "enqueue", enqueue)
    monkeypatch.setattr(sweeper, "periodic", periodic)
    monkeypatch.setattr(sweeper, "STAGES", (broken, *sweeper.STAGES))
    with caplog.at_level(logging.WARNING, logger="service.infra.sweeper"):
        assert sweeper.sweep(runtime) == 2  # the two healthy rows
    runtime.queue.drain()
    assert statuses(runtime, ids) == ["analyzed", "parsed", "analyzed"]
    rows = [getattr(r, "row", None) for r in caplog.records]
    assert poisoned in rows and {"periodic", "deliver"} <= {getattr(r, "stage", None)
                                                           for r in caplog.records}
    monkeypatch.undo()
    two_rounds(runtime)
    assert statuses(runtime, ids) == ["analyzed"] * 3


# ---- dropped database connections (issue item 2) -----------------------------------------------

@pytest.fixture
def admin(settings):
    """A second connection to the same database, outside the service's pool."""
    engine = create_engine(settings.database_url)
    yield engine
    engine.dispose()


def lock_waiter(admin) -> int | None:
    with admin.connect() as c:
        return c.scalar(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                             " AND wait_event_type = 'Lock' LIMIT 1"))


@pytest.mark.skipif(not POSTGRES, reason="pg_terminate_backend needs PostgreSQL (DATABASE_URL)")
def test_a_connection_dropped_mid_analysis_is_retried_not_failed(runtime, admin):
    athlete_id, _ = athlete_with_token(runtime)
    [activity_id] = store_runs(runtime, athlete_id, {0: 8.0})
    holder = admin.connect()
    tx = holder.begin()
    holder.execute(text("SELECT id FROM athletes WHERE id = :a FOR UPDATE"), {"a": athlete_id})
    jobs.analyze_activity(runtime, activity_id)
    worker = threading.Thread(target=runtime.queue.drain)
    worker.start()
    wait_for(lambda: lock_waiter(admin) is not None, "the job to wait on the athlete lock")
    with admin.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": lock_waiter(admin)})
    tx.rollback()
    holder.close()
    worker.join(timeout=120)
    assert statuses(runtime, [activity_id]) == ["analyzed"]


@pytest.mark.skipif(not POSTGRES, reason="pg_terminate_backend needs PostgreSQL (DATABASE_URL)")
def test_every_pooled_connection_dropped_between_rounds(runtime, admin):
    athlete_id, _ = athlete_with_token(runtime)
    ids = store_runs(runtime, athlete_id, {0: 8.0, 2: 9.0})
    with admin.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                       "datname = current_database() AND pid <> pg_backend_pid()"))
    two_rounds(runtime)
    assert statuses(runtime, ids) == ["analyzed", "analyzed"]


# ---- a real worker SIGKILLed mid-job -----------------------------------------------------------

def worker_env(settings) -> dict:
    return dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
                KNEEGUARD_SECRET_KEY=settings.secret_key,
                KNEEGUARD_ENCRYPTION_KEYS=",".join(settings.encryption_keys),
                EMAIL_OUTBOX_DIR=settings.email_outbox_dir, PYTHONPATH=str(REPO),
                KNEEGUARD_SWEEP_INTERVAL="1", KNEEGUARD_JOB_LEASE="2", LOG_LEVEL="WARNING")


@pytest.mark.skipif(not (POSTGRES and REAL_REDIS),
                    reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)")
def test_a_worker_killed_mid_job_leaves_no_row_behind(runtime, settings, admin):
    athlete_id, _ = athlete_with_token(runtime)
    [activity_id] = store_runs(runtime, athlete_id, {0: 8.0})
    holder = admin.connect()  # keeps the job inside its work until the kill
    tx = holder.begin()
    holder.execute(text("SELECT id FROM athletes WHERE id = :a FOR UPDATE"), {"a": athlete_id})
    jobs.analyze_activity(runtime, activity_id)
    cli = str(Path(sys.executable).with_name("kneeguard"))
    worker = subprocess.Popen([cli, "worker"], env=worker_env(settings),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: lock_waiter(admin) is not None, "the job to start")
        horses = children(worker.pid)
        assert horses, "a forking worker runs the job in a work-horse"
        for pid in [worker.pid, *horses]:
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    tx.rollback()
    holder.close()
    conn = runtime.queue.redis
    assert Job.fetch(job_id(activity_id), connection=conn).get_status() == JobStatus.STARTED
    started = StartedJobRegistry("analyze", connection=conn).key
    wait_for(lambda: not conn.zrangebyscore(started, time.time(), "+inf"),
             "the dead horse's heartbeat to lapse (the job lease)")
    sweeper.sweep(runtime)  # round 1: the orphan is recognised and its row re-enqueued
    done = subprocess.run([cli, "worker", "--burst"], env=worker_env(settings),
                          capture_output=True, text=True, timeout=300)  # round 2 + the work
    assert done.returncode == 0, done.stderr[-2000:]
    assert statuses(runtime, [activity_id]) == ["analyzed"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Activity)
                        .where(Activity.status.in_(("parsed", "failed")))) == 0
