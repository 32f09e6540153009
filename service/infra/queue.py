"""Enqueue jobs by dotted name. RQ on Redis when REDIS_URL is set, else an embedded in-process queue.

The embedded queue is the same RQ code on a fakeredis server with a `SimpleWorker` thread (no fork), so
there is one code path for jobs in development, tests and production. Rows in the database are the
truth: a lost or flushed queue only delays work until the sweeper re-enqueues it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import UTC, datetime

import fakeredis
import redis
from rq import Queue, SimpleWorker
from rq.exceptions import DuplicateJobError
from rq.timeouts import TimerDeathPenalty

from service.infra import orphans
from service.infra.jobs import QUEUES

log = logging.getLogger(__name__)

QUEUE_NAMES = QUEUES
JOB_TIMEOUT = 600  # seconds; a parse of the largest allowed archive fits well inside


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that can run outside the main thread (the embedded worker, tests).

    RQ installs SIGINT/SIGTERM handlers and enforces job timeouts with SIGALRM; Python allows
    neither outside the main thread. So: no signal handlers (the web server owns the process's
    signals) and timer-thread job timeouts.

    No command channel either: RQ's pubsub thread (for `rq` stop/kill commands, which address
    long-lived workers) waits for messages in 60 s reads, and redis-py's stop() joins it, so a
    drain on Redis could end up to 60 s after its last job (seen in tests: drains of 60-76 s
    with the CPU idle)."""

    death_penalty_class = TimerDeathPenalty

    def subscribe(self) -> None:
        pass

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._install_signal_handlers()


class JobQueue:
    def __init__(self, redis_url: str | None, lease_s: float = 60.0) -> None:
        self.embedded = redis_url is None
        self.redis: redis.Redis  # fakeredis.FakeRedis is one
        if redis_url is None:
            self.redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        else:
            self.redis = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)
        self.queues = {name: Queue(name, connection=self.redis) for name in QUEUE_NAMES}
        # How long a job may look dead (no queue, no registry, no heartbeat) before it is
        # declared orphaned and its row's work re-enqueued.
        self.lease_s = lease_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def enqueue(self, queue: str, func: str, *args: object, key: str | None = None,
                timeout: int = JOB_TIMEOUT, prefix: str | None = None) -> bool:
        """Enqueue `func(*args)`. With `key`, at most one such job waits or runs at a time.

        Returns False when an identical job is already queued or running (that is fine: jobs are
        idempotent and the database row says what is left to do). Callers use service.infra.jobs.
        """
        q = self.queues[queue]
        job_id = f"{prefix or func.rsplit('.', 1)[-1]}-{key}" if key else None
        options = dict(job_timeout=timeout, result_ttl=0, failure_ttl=3600)
        try:
            q.enqueue(func, *args, job_id=job_id, unique=job_id is not None, **options)
        except DuplicateJobError:  # only with a key: job_id is set
            if job_id is None or not orphans.clear_if_dead(self, job_id):
                return False
            q.enqueue(func, *args, job_id=job_id, unique=True, **options)
        self._wake.set()
        return True

    def schedule(self, queue: str, func: str, *args: object, at: datetime, key: str,
                 timeout: int = JOB_TIMEOUT, prefix: str | None = None) -> bool:
        """Run `func(*args)` at `at` (RQ's ScheduledJobRegistry; every worker's `promote_due`
        moves it to the *front* of its queue when due, so a retry is not queued behind new work).

        The job id carries the due second: the job that schedules it may still be running
        under the plain `<prefix>-<key>` id. False when that very retry is already scheduled."""
        # RQ scores scheduled jobs in whole seconds, rounding down; the job would then run
        # before its row is due and find nothing to do. Round up instead.
        at = datetime.fromtimestamp(math.ceil(at.timestamp()), UTC)
        job_id = f"{prefix or func.rsplit('.', 1)[-1]}-{key}-at{int(at.timestamp())}"
        try:
            self.queues[queue].enqueue_at(at, func, *args, job_id=job_id, unique=True,
                                          at_front=True, job_timeout=timeout, result_ttl=0,
                                          failure_ttl=3600)
        except DuplicateJobError:
            return False
        return True

    def promote_due(self) -> int:
        """Move due scheduled jobs to the front of their queues (what RQ's scheduler does).

        Every worker process runs this each second (`service.infra.worker`), as do the embedded
        worker and `drain`: no process is elected, so no death leaves due retries unmoved. Safe to
        run from many processes at once: a job is enqueued only by the one whose ZREM took it
        out of the registry. A process killed between that ZREM and the enqueue loses the job
        from Redis, not the row: the sweeper enqueues a due delivery again."""
        moved = 0
        for q in self.queues.values():
            registry = q.scheduled_job_registry
            for job_id in registry.get_jobs_to_schedule(int(time.time())):
                if not registry.remove(job_id):
                    continue  # another process took it
                job = q.fetch_job(job_id)
                if job is not None:
                    q.enqueue_job(job, at_front=True)
                    moved += 1
        if moved:
            self._wake.set()
        return moved

    def start_promoter(self, interval: float = 1.0) -> threading.Thread:
        """A daemon thread moving due scheduled jobs every `interval` seconds (worker processes)."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.promote_due()
                except Exception:  # Redis away: the next round tries again
                    log.warning("moving due scheduled jobs failed", exc_info=True)

        thread = threading.Thread(target=loop, daemon=True, name="kneeguard-promoter")
        thread.start()
        return thread

    def ping(self) -> None:
        self.redis.ping()

    def pending_count(self) -> int:
        return sum(q.count for q in self.queues.values())

    def worker(self) -> ThreadWorker:
        return ThreadWorker(list(self.queues.values()), connection=self.redis)

    def drain(self, max_rounds: int = 50) -> None:
        """Run queued jobs in this thread until none are left (tests, CLI import, embedded loop)."""
        for _ in range(max_rounds):
            self.promote_due()
            if not self.pending_count():
                return
            self.worker().work(burst=True, logging_level="WARNING")

    def start_embedded_worker(self, interval: float = 1.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True,
                                        name="kneeguard-embedded-worker")
        self._thread.start()

    def stop_embedded_worker(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # keep the embedded worker alive; the row stays pending
                log.exception("embedded worker round failed")
