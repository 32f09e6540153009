"""A retry is due at a time, and a backlog of analyses must not push it back.

Before: a failed delivery waited for the sweeper, which appended it to the FIFO `notify` queue, and
workers served `analyze` first, so 500 waiting analyses kept it waiting. Now the deliver job
schedules its next attempt in RQ's scheduled-job registry (`enqueue_at`, `at_front`); when it is
due, every worker's `promote_due` moves it to the front of `notify`, which workers serve first.
The lateness itself is measured by bench/retry_lateness.py; here: order, not time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from service.domain import endpoints as svc
from service.infra import jobs
from service.models import Delivery, DeliveryAttempt
from testkit.receiver import Receiver
from tests.helpers import athlete_with_token
from workers import deliver as deliver_job
from workers.notify import outcome

BACKLOG = 500


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(webhook_allow_loopback=True)


def failing_once(runtime, monkeypatch, rx: Receiver) -> str:
    """A test delivery to `rx`, which answers 503 once; the retry falls due 1 s after it."""
    monkeypatch.setattr(outcome, "RETRY_SCHEDULE", (1, 300))  # the first step, compressed
    monkeypatch.setattr(outcome, "JITTER", 0.0)
    athlete_id, _ = athlete_with_token(runtime)
    with runtime.db.session() as s:
        ep, secret = svc.create(s, runtime.box, url=rx.url, events=["endpoint.test"],
                                allow_loopback=True, athlete_id=athlete_id)
        delivery_id = svc.send_test(s, ep).id
    rx.secret, rx.failures_left = secret, 1
    return delivery_id


def first_job_a_worker_takes(runtime):
    worker = runtime.queue.worker()
    job, _queue = Queue.dequeue_any(worker.queues, None, connection=runtime.queue.redis)
    return job


def test_a_due_retry_is_taken_before_500_waiting_analyses(runtime, monkeypatch):
    with Receiver() as rx:
        delivery_id = failing_once(runtime, monkeypatch, rx)
        jobs.deliver(runtime, delivery_id)
        runtime.queue.drain()  # attempt 1: 503 → the retry is scheduled, not queued
        scheduled = ScheduledJobRegistry("notify", connection=runtime.queue.redis)
        assert [j for j in scheduled.get_job_ids() if delivery_id in j]
        for n in range(BACKLOG):
            jobs.analyze_activity(runtime, f"act_backlog{n}")
        deadline = time.monotonic() + 10
        while not runtime.queue.promote_due() and time.monotonic() < deadline:
            time.sleep(0.05)  # the retry falls due (1 s)
        job = first_job_a_worker_takes(runtime)
        assert job.func_name == jobs.DELIVER.func and job.args == (delivery_id,)
        job.perform()
    with runtime.db.session() as s:
        assert s.get(Delivery, delivery_id).status == "sent"
        assert s.query(DeliveryAttempt).filter_by(delivery_id=delivery_id).count() == 2


def test_a_due_retry_moved_by_two_workers_at_once_is_queued_once(runtime, monkeypatch):
    """Every worker moves due scheduled jobs (no elected scheduler): two that list the same due
    job both try, and only the one whose ZREM took it out of the registry enqueues it."""
    when = datetime.now(UTC) - timedelta(seconds=1)
    assert runtime.queue.schedule("notify", jobs.DELIVER.func, "dlv_x", at=when, key="dlv_x",
                                  prefix="deliver")
    registry = ScheduledJobRegistry("notify", connection=runtime.queue.redis)
    listed = registry.get_jobs_to_schedule(int(time.time()) + 1)
    assert runtime.queue.promote_due() == 1
    # the other worker listed it before this one's ZREM
    monkeypatch.setattr(ScheduledJobRegistry, "get_jobs_to_schedule", lambda self, ts: listed)
    assert runtime.queue.promote_due() == 0
    assert runtime.queue.queues["notify"].job_ids == listed


def test_a_retry_run_twice_is_sent_once(runtime, monkeypatch):
    """Should a retry still be queued twice (a worker killed mid-move, the sweeper's copy beside
    the scheduled one), the second run finds the row claimed or sent and sends nothing."""
    with Receiver() as rx:
        delivery_id = failing_once(runtime, monkeypatch, rx)
        deliver_job.deliver(delivery_id)  # attempt 1: 503, the retry is due in 1 s
        time.sleep(1.1)
        deliver_job.deliver(delivery_id)
        deliver_job.deliver(delivery_id)  # the same retry again
        assert len(rx.received) == 1
    with runtime.db.session() as s:
        assert s.get(Delivery, delivery_id).status == "sent"
        assert s.query(DeliveryAttempt).filter_by(delivery_id=delivery_id).count() == 2
