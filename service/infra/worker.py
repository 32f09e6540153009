"""`kneeguard worker`: an RQ worker on Redis plus the sweeper thread."""

from __future__ import annotations

import logging
import os

from rq import SimpleWorker, Worker

from service.infra import runtime as runtime_mod
from service.infra import sweeper
from service.infra.settings import Settings

log = logging.getLogger(__name__)


class LeasedWorker(Worker):
    """RQ's forking worker with a configurable heartbeat margin.

    RQ keeps a running job's registry entry alive for `monitoring interval + 60 s`; a worker killed
    with its horse is only noticed after that. Here the margin is the job lease
    (`KNEEGUARD_JOB_LEASE`), so the sweeper can re-enqueue a killed job's row sooner."""

    lease_s = 60

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        remaining = (job.timeout or 0) - working_time if job.timeout and job.timeout > 0 else None
        interval = self.job_monitoring_interval
        return int(min(remaining, interval) if remaining is not None else interval) + self.lease_s


def run_worker(settings: Settings, *, burst: bool = False, simple: bool = False) -> int:
    runtime = runtime_mod.build(settings)
    # A forked work-horse must not reuse the parent's pooled DB connections.
    os.register_at_fork(after_in_child=lambda: runtime.db.engine.dispose(close=False))
    queues = list(runtime.queue.queues.values())
    LeasedWorker.lease_s = settings.job_lease_s
    cls = SimpleWorker if simple else LeasedWorker
    # Short TTLs so a dead worker's job is noticed in about a minute, not ten (reliability §3).
    worker = cls(queues, connection=runtime.queue.redis, worker_ttl=60,
                 job_monitoring_interval=min(15, settings.job_lease_s), maintenance_interval=60)
    if burst:
        sweeper.sweep(runtime)
    else:
        sweeper.start_thread(runtime, settings.sweep_interval_s)
    # with_scheduler: RQ's scheduler (one per Redis, elected by lock) moves due retries
    # (jobs.deliver_at) to the front of their queue every second.
    ok = worker.work(burst=burst, logging_level=settings.log_level, with_scheduler=True)
    return 0 if ok or burst else 1
