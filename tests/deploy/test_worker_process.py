"""`kneeguard worker` as a container runs it: a real process on a real Redis, stopped by SIGTERM.

`docker stop` sends SIGTERM to the container's main process and reads its exit code; a non-zero code
on a normal stop shows as a failure and, with a restart policy, is indistinguishable from a crash.
The compose health check is `kneeguard worker --check` (the worker's heartbeat in Redis).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.infra.loopback import free_port
from tests.deploy.processes import wait_for

CLI = str(Path(sys.executable).with_name("kneeguard"))


def env(tmp_path, redis_url) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return dict(base, REDIS_URL=redis_url, KNEEGUARD_DATA_DIR=str(tmp_path / "data"),
                LOG_LEVEL="WARNING", KNEEGUARD_SWEEP_INTERVAL="3600")


def check(tmp_path, redis_url) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "worker", "--check"], env=env(tmp_path, redis_url),
                          capture_output=True, text=True, timeout=120)


def start_worker(tmp_path, redis_url, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([CLI, "worker", *extra], env=env(tmp_path, redis_url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("extra", [(), ("--simple",)])
def test_an_idle_worker_told_to_stop_exits_zero_and_the_check_follows_it(tmp_path, redis_url, extra):
    assert check(tmp_path, redis_url).returncode == 1  # no worker yet
    proc = start_worker(tmp_path, redis_url, *extra)
    wait_for(lambda: check(tmp_path, redis_url).returncode == 0 or proc.poll() is not None,
             "the worker's heartbeat")
    assert proc.poll() is None, proc.stderr.read()[-2000:]
    assert '"healthy": true' in check(tmp_path, redis_url).stdout
    assert stop(proc) == 0, proc.stderr.read()[-2000:]
    assert check(tmp_path, redis_url).returncode == 1  # a stopped worker deregisters


def test_the_check_is_unhealthy_not_a_crash_when_redis_is_unreachable(tmp_path):
    done = check(tmp_path, f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 1
    assert '"healthy": false' in done.stdout and "error" in done.stdout


def test_a_delivery_worker_serves_only_the_queues_it_is_given(tmp_path, redis_url):
    """`--queues notify`: a worker kept for deliveries, so a retry due now is not stuck behind the
    analysis in hand (docs/decisions.md, "Retries on schedule")."""
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    analysis = Queue("analyze", connection=conn).enqueue("os.getpid")
    delivery = Queue("notify", connection=conn).enqueue("os.getpid")
    proc = start_worker(tmp_path, redis_url, "--queues", "notify")
    try:
        wait_for(lambda: delivery.get_status(refresh=True) == "finished" or proc.poll() is not None,
                 "the delivery job to finish")
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert analysis.get_status(refresh=True) == "queued"  # not this worker's queue
    finally:
        assert stop(proc) == 0


def test_an_unknown_queue_is_a_usage_error(tmp_path, redis_url):
    done = subprocess.run([CLI, "worker", "--queues", "notify,analyse"], env=env(tmp_path, redis_url),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unknown analyse" in done.stderr and "notify,ingest,analyze,maintenance" in done.stderr


def test_a_job_finds_its_module_already_imported_by_the_worker(tmp_path, redis_url):
    """Each job runs in a work-horse forked from the worker: a module the worker never imported is
    imported again by every horse (`workers.deliver`: ~0.5 s of CPU, seconds on a loaded host,
    so every retry came late). The worker imports its queues' job modules before it forks."""
    from redis import Redis
    from rq import Queue

    probe = Queue("notify", connection=Redis.from_url(redis_url)).enqueue(
        "builtins.eval", "'workers.deliver' in __import__('sys').modules")
    proc = start_worker(tmp_path, redis_url, "--queues", "notify")
    try:
        wait_for(lambda: probe.get_status(refresh=True) == "finished" or proc.poll() is not None,
                 "the probe job to finish")
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert probe.return_value() is True
    finally:
        assert stop(proc) == 0


def test_a_retry_falls_due_and_runs_while_a_killed_workers_scheduler_lock_still_stands(
        tmp_path, redis_url):
    """A SIGKILLed worker (and its children) that held RQ's scheduler lock for `notify` leaves it
    for 61 s, and RQ's other workers try to take it over only in their maintenance step (every
    60 s): due retries waited for the sweeper (60 s by default). Every live worker moves due
    scheduled jobs itself, so a retry due now runs on a survivor while that lock still stands."""
    from datetime import UTC, datetime, timedelta

    from redis import Redis

    from service.infra.queue import JobQueue
    from testkit.processes import children

    conn = Redis.from_url(redis_url)
    lock = "rq:scheduler-lock:notify"
    a = start_worker(tmp_path, redis_url, "--queues", "notify")  # first up: RQ gave it the lock
    wait_for(lambda: conn.smembers("rq:workers") or a.poll() is not None, "worker A to register")
    conn.set(lock, "a-killed-scheduler", nx=True, ex=61)  # a holder's lock, as its death leaves it
    b = start_worker(tmp_path, redis_url)
    try:
        wait_for(lambda: len(conn.smembers("rq:workers")) == 2 or b.poll() is not None,
                 "worker B to register")
        for pid in [a.pid, *children(a.pid)]:
            os.kill(pid, signal.SIGKILL)
        a.wait(timeout=30)
        probe = (f"__import__('redis').Redis.from_url({redis_url!r}).set('probe-ran-under', "
                 "__import__('os').getppid())")
        JobQueue(redis_url).schedule("notify", "builtins.eval", probe, key="probe",
                                     at=datetime.now(UTC) + timedelta(seconds=2))
        wait_for(lambda: conn.get("probe-ran-under") or b.poll() is not None,
                 "the due job to run", cap_s=45)
        assert b.poll() is None, b.stderr.read()[-2000:]
        assert int(conn.get("probe-ran-under")) == b.pid  # in B's work-horse
        assert conn.ttl(lock) > 0  # the dead holder's lock never had to expire
    finally:
        assert stop(b) == 0


def test_a_stopping_worker_does_not_wait_out_its_pubsub_threads_sleep(redis_url):
    """The pubsub thread (RQ's commands channel) waits up to 60 s for a subscription once it has
    read Redis's unsubscribe reply while still told to run. With RQ's order (unsubscribe, then stop
    and wait for the thread) a main thread descheduled between the two (a loaded host, a
    container) waited those 60 s: one stop in eight on the host, SIGKILL under `docker stop`.
    Here the main thread pauses right after the unsubscribe is answered."""
    import threading
    import time

    from redis import Redis

    from service.infra.worker import LeasedWorker

    worker = LeasedWorker(["notify"], connection=Redis.from_url(redis_url))
    worker.subscribe()
    wait_for(lambda: worker.pubsub.subscribed, "the subscription")
    send = worker.pubsub.unsubscribe

    def unsubscribe_then_pause(*args, **kwargs):
        sent = send(*args, **kwargs)
        wait_for(lambda: not worker.pubsub.subscribed, "the unsubscribe reply", cap_s=10)
        time.sleep(0.3)  # the thread, if still told to run, is now waiting for a subscription
        return sent

    worker.pubsub.unsubscribe = unsubscribe_then_pause
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    stopping.start()
    stopping.join(timeout=20)
    assert not stopping.is_alive(), "unsubscribe waited for the pubsub thread's 60 s sleep"
    assert not worker.pubsub_thread.is_alive()


def test_the_health_check_loads_neither_the_web_side_nor_the_database_layer(tmp_path):
    """`kneeguard worker --check` runs every 30 s in every worker container: it needs Redis and RQ.
    Flask, SQLAlchemy and the embedded queue (loaded through the package root, two command groups
    and the worker module) made each check cost about 1 s of CPU instead of about 0.3."""
    code = ("import sys\nfrom service.cli import main\ntry:\n    main(['worker', '--check'])\n"
            "except SystemExit:\n    pass\n"
            "heavy = ('flask', 'sqlalchemy', 'fakeredis', 'numpy', 'pydantic')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code],
                          env=env(tmp_path, f"redis://127.0.0.1:{free_port()}/0"),
                          capture_output=True, text=True, timeout=120)
    assert '"healthy": false' in done.stdout, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
