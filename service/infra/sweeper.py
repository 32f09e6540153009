"""Re-enqueue work whose rows are still pending, so a lost or flushed queue loses nothing.

Each stage says what "pending" means for its table and which job (service.infra.jobs) handles a row.
Enqueueing is keyed by row id, so a row already waiting in the queue is not enqueued twice, and running
the sweeper from several worker processes at once is harmless. Every stage and every row is isolated:
whatever one row, one job hash or one stage throws is logged with its ids and the round goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service.infra import jobs
from service.infra.runtime import Runtime
from service.infra.settings import Settings
from service.models import Activity, Connection, Delivery, InboundEvent, utcnow

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class Stage:
    job: jobs.JobSpec
    query: object  # a callable(now) -> select of ids


STAGES = (
    Stage(jobs.PROCESS_EVENT,
          lambda now: select(InboundEvent.id).where(
              InboundEvent.status == "received", InboundEvent.next_attempt_at <= now)),
    Stage(jobs.ANALYZE,
          lambda now: select(Activity.id).where(Activity.status == "parsed")),
    Stage(jobs.DELIVER,
          lambda now: select(Delivery.id).where(
              Delivery.status == "pending", Delivery.next_attempt_at <= now)),
)


@dataclass(frozen=True)
class Periodic:
    job: jobs.JobSpec
    every: str  # strftime pattern naming the period: one run per distinct value
    enabled: Callable[[Settings], bool] = lambda settings: True


PERIODIC = (
    # Strava data past its 7-day retention goes within the hour it expires.
    Periodic(jobs.STRAVA_PURGE, "%Y%m%d%H"),
    # The lost-events backstop: re-sync every connected Strava runner once a day.
    Periodic(jobs.STRAVA_RECONCILE, "%Y%m%d", lambda st: st.strava_enabled),
    # Garmin refresh tokens die after ~90 days (refresh_token_expires_in): renew them ahead;
    # and ask Garmin whether paused connections may resume (a lost notification).
    Periodic(jobs.GARMIN_UPKEEP, "%Y%m%d", lambda st: st.garmin_enabled),
)


def periodic(runtime: Runtime, now: datetime) -> int:
    """Enqueue each periodic job once per period, across all sweeping processes (a Redis SET NX
    marker; after a Redis flush a job may run twice in one period, which is harmless)."""
    count = 0
    for job in PERIODIC:
        if not job.enabled(runtime.settings):
            continue
        period = now.strftime(job.every)
        marker = f"kneeguard:periodic:{job.job.func}:{period}"
        if runtime.queue.redis.set(marker, "1", nx=True, ex=2 * 86400):
            count += jobs.periodic(runtime, job.job, period)
    return count


def due_backfills(s, now: datetime) -> list[str]:
    """Garmin connections whose history backfill is pending (its job may have been lost) or
    failed and due for another try (`service.integrations.garmin.upkeep.retry_plan` sets `next_at`)."""
    status = Connection.details["backfill"]["status"].as_string()
    rows = s.execute(select(Connection.id, Connection.details).where(
        Connection.provider == "garmin", Connection.status == "active",
        status.in_(("pending", "failed")))).all()
    return [cid for cid, details in rows
            if (details["backfill"].get("next_at") or "") <= now.isoformat()]


def sweep(runtime: Runtime, now: datetime | None = None) -> int:
    """Enqueue every pending row's job (and the periodic jobs that are due); returns how many
    row jobs were newly enqueued. Never raises for one row, one job or one stage."""
    now = now or utcnow()
    count = 0
    guarded("periodic", lambda: periodic(runtime, now))
    for stage in STAGES:
        count += guarded(stage.job.name, lambda stage=stage: sweep_stage(
            runtime, stage.job, lambda s: s.scalars(stage.query(now).limit(BATCH)).all()))
    count += guarded("garmin_backfill", lambda: sweep_stage(
        runtime, jobs.GARMIN_BACKFILL, lambda s: due_backfills(s, now)))
    if count:
        log.info("sweeper re-enqueued jobs", extra={"count": count})
    return count


def sweep_stage(runtime: Runtime, job: jobs.JobSpec, pending) -> int:
    """Read the pending ids (one short transaction), then enqueue each on its own."""
    with runtime.db.session() as s:
        ids = list(pending(s))
    count = 0
    for row_id in ids:
        count += guarded(job.name, lambda row_id=row_id: jobs.enqueue(
            runtime, job, row_id, key=row_id), row=row_id)
    return count


def guarded(stage: str, step, row: str | None = None) -> int:
    """Run one step of a round; log (with ids) and count nothing when it throws."""
    try:
        return int(step() or 0)
    except Exception as exc:
        log.warning("sweep step failed", exc_info=True,
                    extra={"stage": stage, "row": row, "error": f"{type(exc).__name__}: {exc}"})
        return 0


def start_thread(runtime: Runtime, interval: float) -> threading.Thread:
    """A daemon thread that sweeps every `interval` seconds (worker processes and `serve`)."""

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(interval):
            try:
                sweep(runtime)
            except Exception:  # the next round tries again; never kill the worker
                log.exception("sweep failed")

    thread = threading.Thread(target=loop, daemon=True, name="kneeguard-sweeper")
    thread.start()
    return thread
