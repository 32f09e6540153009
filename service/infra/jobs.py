"""The one table of jobs: name → dotted function, queue, dedupe key, timeout; and typed helpers.

The web side, the jobs and the sweeper all enqueue through the helpers below, so a job's dotted
name is written once (here) and never imported: the web side stays free of job code. The dedupe
key is the job's row id (or a period for periodic jobs): at most one such job waits or runs at a
time, and the database row says what is left to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import redis.exceptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    name: str  # short name; also the job id prefix (`<name>-<key>`)
    func: str  # dotted path RQ imports in the worker
    queue: str
    timeout_s: int


def _spec(name: str, func: str, queue: str, timeout_s: int) -> JobSpec:
    return JobSpec(name, func, queue, timeout_s)


# A parse of the largest allowed archive fits well inside 10 minutes; a delivery is one HTTP
# attempt (30 s timeout) or one SMTP send; periodic jobs walk every connection.
PROCESS_EVENT = _spec("process_event", "workers.ingest.process_event", "ingest", 600)
ANALYZE = _spec("analyze_activity", "workers.analyze.analyze_activity", "analyze", 300)
# One per athlete per import pass: the early pass over the recent weeks, then the whole history.
ANALYZE_IMPORT = _spec("analyze_import", "workers.analyze_import.analyze_import", "analyze",
                       3600)
DELIVER = _spec("deliver", "workers.deliver.deliver", "notify", 120)
GARMIN_BACKFILL = _spec("backfill", "service.integrations.garmin.upkeep.backfill", "ingest", 600)
GARMIN_UPKEEP = _spec("garmin_upkeep", "service.integrations.garmin.upkeep.daily_upkeep", "maintenance",
                      3600)
STRAVA_PURGE = _spec("purge", "service.integrations.strava.jobs.purge", "maintenance", 1800)
STRAVA_RECONCILE = _spec("reconcile", "service.integrations.strava.jobs.reconcile", "maintenance", 3600)

JOBS: dict[str, JobSpec] = {spec.name: spec for spec in (
    PROCESS_EVENT, ANALYZE, ANALYZE_IMPORT, DELIVER, GARMIN_BACKFILL, GARMIN_UPKEEP, STRAVA_PURGE,
    STRAVA_RECONCILE)}
BY_FUNC: dict[str, JobSpec] = {spec.func: spec for spec in JOBS.values()}
# Workers take jobs from these queues in this order. Deliveries come first: each is one short
# attempt, and a retry is due at a set time (the retry schedule) that a backlog of analyses must
# not push back (docs/decisions.md, "Retries on schedule").
QUEUES = ("notify", "ingest", "analyze", "maintenance")


def enqueue(rt, spec: JobSpec, *args: object, key: str | None) -> bool:
    """Enqueue `spec(*args)` deduplicated on `key`; False when an identical job is live, or when
    Redis is unavailable: callers enqueue after their commit, so the row is safe and the sweeper
    enqueues it once Redis is back (a request that stored its data still answers 2xx)."""
    try:
        return rt.queue.enqueue(spec.queue, spec.func, *args, key=key, timeout=spec.timeout_s,
                                prefix=spec.name)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("queue unavailable; the sweeper will enqueue this later",
                    extra={"job": spec.name, "key": key, "error": f"{type(exc).__name__}: {exc}"})
        return False


def process_event(rt, event_id: str) -> bool:
    return enqueue(rt, PROCESS_EVENT, event_id, key=event_id)


def analyze_activity(rt, activity_id: str) -> bool:
    return enqueue(rt, ANALYZE, activity_id, key=activity_id)


def analyze_import(rt, athlete_id: str, *args: object, key: str) -> bool:
    return enqueue(rt, ANALYZE_IMPORT, athlete_id, *args, key=key)


def deliver(rt, delivery_id: str) -> bool:
    return enqueue(rt, DELIVER, delivery_id, key=delivery_id)


def deliver_at(rt, delivery_id: str, when: datetime) -> bool:
    """The next attempt of a delivery, at its scheduled time (RQ's scheduled-job registry, moved
    to the queue by every worker: `JobQueue.promote_due`; the sweeper is the backstop when Redis
    lost it)."""
    try:
        return rt.queue.schedule(DELIVER.queue, DELIVER.func, delivery_id, at=when,
                                 key=delivery_id, timeout=DELIVER.timeout_s, prefix=DELIVER.name)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("queue unavailable; the sweeper will retry this delivery when due",
                    extra={"delivery": delivery_id, "error": f"{type(exc).__name__}: {exc}"})
        return False


def garmin_backfill(rt, connection_id: str) -> bool:
    return enqueue(rt, GARMIN_BACKFILL, connection_id, key=connection_id)


def periodic(rt, spec: JobSpec, period: str) -> bool:
    """A maintenance job without arguments, once per period."""
    return enqueue(rt, spec, key=period)
