"""Tell a live RQ job from a dead one whose hash still blocks re-enqueueing its id.

`unique=True` refuses an id while its hash exists. A hash can outlive its job: a worker SIGKILLed
between taking a job and starting it leaves it "queued" in no queue; killed while running, it stays
"started" with a heartbeat that lapses; a failed job's hash is kept for `failure_ttl`. Without this
check the sweeper's enqueue is refused every round and the row is stranded (rq 3.0 behaviour, read
in its source: `Job.delete()` raises `ValueError: Execution … not found` when the execution hash
expired before its registry entry, so deletion falls back to removing the keys directly).
"""

from __future__ import annotations

import logging
import time

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry

log = logging.getLogger(__name__)

FINAL = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
SUSPECT_KEY = "kneeguard:suspect:{0}"


def clear_if_dead(jq, job_id: str) -> bool:
    """Delete the job's leftovers when it is final or orphaned; True when the id is free."""
    try:
        job = Job.fetch(job_id, connection=jq.redis)
    except NoSuchJobError:
        return True
    except Exception:  # an unreadable hash (e.g. half-written): nothing can run it
        log.warning("unreadable job hash; removing it", extra={"job": job_id}, exc_info=True)
        scrub(jq, job_id, None)
        return True
    status = job.get_status(refresh=False)
    if status in FINAL:
        delete(jq, job)
        return True
    if is_live(jq, job, status):
        jq.redis.delete(SUSPECT_KEY.format(job_id))
        return False
    if status != JobStatus.STARTED and not _suspect_long_enough(jq, job_id):
        return False
    log.warning("orphaned job: re-enqueueing its row",
                extra={"job": job_id, "status": str(status), "queue": job.origin})
    delete(jq, job)
    return True


def is_live(jq, job: Job, status) -> bool:
    """Somewhere a worker will find it, or a worker's heartbeat for it is current."""
    conn, origin = jq.redis, job.origin
    queue = jq.queues.get(origin)
    if status == JobStatus.STARTED:
        # A running job has an entry `id:execution` scored with its heartbeat's expiry.
        live = conn.zrangebyscore(StartedJobRegistry(origin, connection=conn).key,
                                  time.time(), "+inf")
        return any(e.decode().split(":", 1)[0] == job.id for e in live)
    if status == JobStatus.SCHEDULED:
        return job.id in ScheduledJobRegistry(origin, connection=conn)
    if status == JobStatus.DEFERRED:
        return job.id in DeferredJobRegistry(origin, connection=conn)
    if queue is None:
        return False
    # Queued: in the queue, or just taken by a worker (the intermediate list, rq >= 1.15).
    return (conn.lpos(queue.key, job.id) is not None
            or conn.lpos(queue.intermediate_queue_key, job.id) is not None)


def _suspect_long_enough(jq, job_id: str) -> bool:
    """A queued job is between lists for milliseconds while a worker takes it: only call it
    orphaned once it has looked dead for a whole lease (first sighting recorded in Redis, so
    several sweeping processes agree)."""
    key = SUSPECT_KEY.format(job_id)
    now = time.time()
    if jq.redis.set(key, now, nx=True, ex=int(max(jq.lease_s * 10, 60))):
        return False
    first = float(jq.redis.get(key) or now)
    return now - first >= jq.lease_s


def delete(jq, job: Job) -> None:
    try:
        job.delete()
    except Exception as exc:  # rq >= 2: a lapsed execution hash makes delete() raise
        log.warning("job.delete failed; removing keys directly",
                    extra={"job": job.id, "error": f"{type(exc).__name__}: {exc}"})
        scrub(jq, job.id, job.origin)
    jq.redis.delete(SUSPECT_KEY.format(job.id))


def scrub(jq, job_id: str, origin: str | None) -> None:
    """Remove every trace of a job id by key name (no execution lookups that can raise)."""
    conn = jq.redis
    names = [origin] if origin is not None and origin in jq.queues else list(jq.queues)
    with conn.pipeline() as pipe:
        for name in names:
            queue = jq.queues[name]
            pipe.lrem(queue.key, 0, job_id)
            pipe.lrem(queue.intermediate_queue_key, 0, job_id)
            started = StartedJobRegistry(name, connection=conn).key
            for entry in conn.zrange(started, 0, -1):
                if entry.decode().split(":", 1)[0] == job_id:
                    pipe.zrem(started, entry)
        pipe.delete(Job.key_for(job_id), f"rq:executions:{job_id}", SUSPECT_KEY.format(job_id))
        pipe.execute()
