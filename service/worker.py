"""`kneeguard worker`: an RQ worker on Redis plus the sweeper thread."""

from __future__ import annotations

import logging
import os

from rq import SimpleWorker, Worker

from service import runtime as runtime_mod
from service import sweeper
from service.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, burst: bool = False, simple: bool = False) -> int:
    runtime = runtime_mod.build(settings)
    # A forked work-horse must not reuse the parent's pooled DB connections.
    os.register_at_fork(after_in_child=lambda: runtime.db.engine.dispose(close=False))
    queues = list(runtime.queue.queues.values())
    cls = SimpleWorker if simple else Worker
    # Short TTLs so a dead worker's job is noticed in about a minute, not ten (reliability §3).
    worker = cls(queues, connection=runtime.queue.redis, worker_ttl=60,
                 job_monitoring_interval=15, maintenance_interval=60)
    if burst:
        sweeper.sweep(runtime)
    else:
        sweeper.start_thread(runtime, settings.sweep_interval_s)
    ok = worker.work(burst=burst, logging_level=settings.log_level)
    return 0 if ok or burst else 1
