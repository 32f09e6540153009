"""`kneeguard worker`: an RQ worker on Redis plus the sweeper thread."""

from __future__ import annotations

import importlib
import logging
import os
import socket
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker

from service.infra.settings import Settings

log = logging.getLogger(__name__)


WORKER_TTL_S = 60  # how long a worker's registration outlives its last heartbeat (RQ adds 60 s)


class _StopAware:
    """Remembers that a stop signal arrived, so the exit code can tell a normal stop (SIGTERM from
    `docker stop`, Ctrl+C) from a loop that gave up (Redis gone, an unhandled error)."""

    stop_signalled = False

    def request_stop(self, signum, frame):
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def unsubscribe(self):
        """RQ's own order (unsubscribe, then stop the pubsub thread and wait for it) lets the thread
        read Redis's unsubscribe reply while it is still told to run: it then waits for a new
        subscription for its whole `sleep_time` (60 s), and redis-py's `stop()` waits for it. One
        stop in eight took 60.4 s on the host; in a container, `docker stop`'s SIGKILL. Tell the
        thread to end first, then unsubscribe: the reply wakes it and it ends."""
        thread = self.pubsub_thread
        if thread is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        thread.stop(timeout=0)  # clears its flag; waits for nothing
        self.pubsub.unsubscribe()
        thread.join(timeout=5)  # the reply ends it at once; a dead Redis leaves it to the exit
        self.pubsub.close()


class LeasedWorker(_StopAware, Worker):
    """RQ's forking worker with a configurable heartbeat margin.

    RQ keeps a running job's registry entry alive for `monitoring interval + 60 s`; a worker killed
    with its horse is only noticed after that. Here the margin is the job lease
    (`KNEEGUARD_JOB_LEASE`), so the sweeper can re-enqueue a killed job's row sooner."""

    lease_s = 60

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        remaining = (job.timeout or 0) - working_time if job.timeout and job.timeout > 0 else None
        interval = self.job_monitoring_interval
        return int(min(remaining, interval) if remaining is not None else interval) + self.lease_s


class StopAwareSimpleWorker(_StopAware, SimpleWorker):
    """RQ's in-process worker (`--simple`), with the same exit codes."""


def preload_jobs(queue_names) -> list[str]:
    """Import the job modules of these queues in the worker, before it forks: a work-horse is
    forked per job, and a module its parent never imported is imported again by every horse
    (`workers.deliver` and its senders: ~0.5 s of CPU, seconds on a loaded host; every delivery
    and every retry paid it, so retries came late: bench/faults.py, docs/decisions.md)."""
    from service.infra import jobs

    served = set(queue_names)
    modules = sorted({spec.func.rsplit(".", 1)[0] for spec in jobs.JOBS.values()
                      if spec.queue in served})
    for name in modules:
        importlib.import_module(name)
    return modules


def run_worker(settings: Settings, *, burst: bool = False, simple: bool = False,
               queues: tuple[str, ...] | None = None) -> int:
    """`queues`: the names this worker serves, in order (default: all, notify first)."""
    # Here, not at the top: the health check (`heartbeat_report`, every 30 s per container) needs
    # only Redis and RQ, not the database layer and the embedded queue these bring.
    from service.infra import runtime as runtime_mod
    from service.infra import sweeper

    runtime = runtime_mod.build(settings)
    # A forked work-horse must not reuse the parent's pooled DB connections.
    os.register_at_fork(after_in_child=lambda: runtime.db.engine.dispose(close=False))
    served = [runtime.queue.queues[n] for n in (queues or tuple(runtime.queue.queues))]
    preload_jobs(q.name for q in served)
    LeasedWorker.lease_s = settings.job_lease_s
    cls = StopAwareSimpleWorker if simple else LeasedWorker
    # Short TTLs so a dead worker's job is noticed in about a minute, not ten (reliability §3).
    worker = cls(served, connection=runtime.queue.redis, worker_ttl=WORKER_TTL_S,
                 job_monitoring_interval=min(15, settings.job_lease_s), maintenance_interval=60)
    if burst:
        sweeper.sweep(runtime)
        runtime.queue.promote_due()
    else:
        sweeper.start_thread(runtime, settings.sweep_interval_s)
        # Every worker moves due retries (jobs.deliver_at) to the front of their queue each
        # second. Not RQ's scheduler: it runs in one worker elected by a lock, and a SIGKILLed
        # holder's lock stands for 61 s, re-tried by the others only every 60 s (docs/decisions.md,
        # issue 24, "Retries on schedule").
        runtime.queue.start_promoter()
    worker.work(burst=burst, logging_level=settings.log_level)
    # RQ's work() says whether any job ran, not whether the loop ended well: an idle worker told
    # to stop returns False. Exit 0 for a stop we were asked for (or a finished burst), 1 when the
    # loop ended by itself (Redis timed out, an unhandled error), so a supervisor restarts it.
    return 0 if burst or worker.stop_signalled else 1


def heartbeat_report(redis_url: str, hostname: str | None = None,
                     now: datetime | None = None) -> dict:
    """The workers registered from this host (a container's hostname is its own) and whether one
    of them is alive: registered, not dead, heartbeat within its TTL plus RQ's margin."""
    hostname = hostname or socket.gethostname()
    now = now or datetime.now(UTC)
    connection = Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        workers = Worker.all(connection=connection)
    except RedisError as exc:
        return {"hostname": hostname, "workers": [], "healthy": False, "error": str(exc)}
    seen = []
    for w in workers:
        if w.hostname != hostname:
            continue
        beat = w.last_heartbeat  # RQ parses it as UTC
        age = (now - beat).total_seconds() if beat else None
        seen.append({"name": w.name, "pid": w.pid, "state": w.get_state(),
                     "heartbeat_age_s": None if age is None else round(age, 1),
                     "alive": age is not None and age <= WORKER_TTL_S + 60})
    return {"hostname": hostname, "workers": seen, "healthy": any(w["alive"] for w in seen)}
