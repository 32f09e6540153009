"""Re-enqueue work whose rows are still pending, so a lost or flushed queue loses nothing.

Each stage registers what "pending" means for its table and which job handles a row. Enqueueing is
keyed by row id, so a row already waiting in the queue is not enqueued twice, and running the sweeper
from several worker processes at once is harmless.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service.models import Activity, Connection, Delivery, InboundEvent, utcnow
from service.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class Stage:
    queue: str
    func: str
    query: object  # a callable(now) -> select of ids


STAGES = (
    Stage("ingest", "workers.ingest.process_event",
          lambda now: select(InboundEvent.id).where(
              InboundEvent.status == "received", InboundEvent.next_attempt_at <= now)),
    Stage("analyze", "workers.analyze.analyze_activity",
          lambda now: select(Activity.id).where(Activity.status == "parsed")),
    Stage("notify", "workers.deliver.deliver",
          lambda now: select(Delivery.id).where(
              Delivery.status == "pending", Delivery.next_attempt_at <= now)),
)


@dataclass(frozen=True)
class Periodic:
    func: str
    every: str  # strftime pattern naming the period: one run per distinct value
    enabled: object = lambda settings: True


PERIODIC = (
    # Strava data past its 7-day retention goes within the hour it expires.
    Periodic("workers.providers.strava.purge", "%Y%m%d%H"),
    # The lost-events backstop: re-sync every connected Strava runner once a day.
    Periodic("workers.providers.strava.reconcile", "%Y%m%d", lambda st: st.strava_enabled),
    # Garmin refresh tokens die after ~90 days (refresh_token_expires_in): renew them ahead;
    # and ask Garmin whether paused connections may resume (a lost notification).
    Periodic("workers.providers.garmin.daily_upkeep", "%Y%m%d", lambda st: st.garmin_enabled),
)


def periodic(runtime: Runtime, now: datetime) -> int:
    """Enqueue each periodic job once per period, across all sweeping processes (a Redis SET NX
    marker; after a Redis flush a job may run twice in one period, which is harmless)."""
    count = 0
    for job in PERIODIC:
        if not job.enabled(runtime.settings):
            continue
        period = now.strftime(job.every)
        marker = f"kneeguard:periodic:{job.func}:{period}"
        if runtime.queue.redis.set(marker, "1", nx=True, ex=2 * 86400):
            count += runtime.queue.enqueue("maintenance", job.func, key=period)
    return count


def due_backfills(s, now: datetime) -> list[str]:
    """Garmin connections whose history backfill is pending (its job may have been lost) or
    failed and due for another try (`workers.providers.garmin.retry_plan` sets `next_at`)."""
    status = Connection.details["backfill"]["status"].as_string()
    rows = s.execute(select(Connection.id, Connection.details).where(
        Connection.provider == "garmin", Connection.status == "active",
        status.in_(("pending", "failed")))).all()
    return [cid for cid, details in rows
            if (details["backfill"].get("next_at") or "") <= now.isoformat()]


def sweep(runtime: Runtime, now: datetime | None = None) -> int:
    """Enqueue every pending row's job (and the periodic jobs that are due); returns how many
    row jobs were newly enqueued."""
    now = now or utcnow()
    periodic(runtime, now)
    count = 0
    with runtime.db.session() as s:
        for stage in STAGES:
            ids = s.scalars(stage.query(now).limit(BATCH)).all()
            for row_id in ids:
                count += runtime.queue.enqueue(stage.queue, stage.func, row_id, key=row_id)
        for conn_id in due_backfills(s, now):
            count += runtime.queue.enqueue("ingest", "workers.providers.garmin.backfill", conn_id,
                                           key=conn_id)
    if count:
        log.info("sweeper re-enqueued jobs", extra={"count": count})
    return count


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
