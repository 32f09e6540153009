"""The deliver job: one attempt at one Delivery row, recorded as a DeliveryAttempt row.

A lease (next_attempt_at pushed forward and committed before the send) stops two workers from
sending the same message at once; if a worker dies mid-send the lease runs out and the sweeper
retries. Receivers therefore see at-least-once delivery with the same `webhook-id` every time.
The channel that sends comes from the explicit table `CHANNELS` below: a channel is a function
`send(rt, delivery) -> Outcome` making one attempt at one Delivery row. Channels are listed here,
not registered by importing a module for its side effect; they live with what they need (webhook
and email in `service/domain`, the Strava note in the Strava package), and rendering stays pure in
`workers/notify`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update

from service.domain import email_channel, endpoints, webhook_channel
from service.infra import jobs
from service.infra import runtime as runtime_mod
from service.infra.db import changed
from service.infra.metrics import JOBS
from service.infra.redact import redact, redact_error
from service.infra.runtime import Runtime
from service.integrations.strava import writeback as strava_note
from service.models import Delivery, DeliveryAttempt, Endpoint, utcnow
from workers.notify.outcome import Outcome, after_failure

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=3)
DISABLE_AFTER = timedelta(days=5)

__all__ = ["Outcome", "deliver"]
Sender = Callable[[Runtime, Delivery], Outcome]

CHANNELS: dict[str, Sender] = {
    "webhook": webhook_channel.send,
    "email": email_channel.send,
    "strava_note": strava_note.send_note,
}


def deliver(delivery_id: str) -> None:
    rt = runtime_mod.current()
    delivery = _claim(rt, delivery_id)
    if delivery is None:
        return
    send = CHANNELS.get(delivery.channel)
    try:
        result = send(rt, delivery) if send else Outcome(
            "failed", error=f"no sender for {delivery.channel}")
    except Exception as exc:  # a sender bug must not lose the message: retry on the schedule
        log.exception("sender crashed", extra={"delivery": delivery_id})
        result = after_failure(delivery.attempt_count, error=f"{type(exc).__name__}: {exc}"[:500])
    notices, retry_at = _record(rt, delivery_id, result)
    for notice_id in notices:
        jobs.deliver(rt, notice_id)
    if retry_at is not None:
        jobs.deliver_at(rt, delivery_id, retry_at)
    JOBS.labels(f"deliver_{delivery.channel}", result.status).inc()


def _claim(rt, delivery_id: str) -> Delivery | None:
    now = utcnow()
    with rt.db.session() as s:
        claimed = changed(s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "pending",
                   Delivery.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempt_count=Delivery.attempt_count + 1)
        ))
        if claimed != 1:
            return None
        delivery = s.get(Delivery, delivery_id)
        s.expunge(delivery)
        return delivery


def _record(rt, delivery_id: str, result: Outcome) -> tuple[list[str], datetime | None]:
    """Store the attempt and the new state; returns deliveries it created (owner notices) and
    when the next attempt is due (None: no retry)."""
    now = utcnow()
    notices: list[Delivery] = []
    with rt.db.session() as s:
        d = s.get(Delivery, delivery_id)
        s.add(DeliveryAttempt(delivery_id=d.id, outcome=result.status, response_code=result.code,
                              duration_ms=result.duration_ms,
                              error=result.error and redact_error(result.error, 500),
                              response_snippet=result.snippet and redact(result.snippet)))
        if result.status == "ok":
            d.status, d.next_attempt_at = "sent", None
        elif result.status == "retry" and result.next_delay_s is not None:
            d.next_attempt_at = now + timedelta(seconds=result.next_delay_s)
        else:
            d.status, d.next_attempt_at = ("cancelled" if result.status == "cancelled"
                                           else "failed"), None
        if d.channel == "webhook":
            notices = _endpoint_health(s, d, result, now)
        s.flush()
        return [n.id for n in notices], d.next_attempt_at if d.status == "pending" else None


def _endpoint_health(s, d: Delivery, result: Outcome, now) -> list[Delivery]:
    ep = s.get(Endpoint, d.target)
    if ep is None:
        return []
    if result.status == "ok":
        ep.failing_since = None
    elif result.status == "disabled":
        return endpoints.disable(s, ep, f"the endpoint answered 410 Gone ({now.isoformat()})",
                                 notify=True)
    elif result.status in ("retry", "failed"):
        ep.failing_since = ep.failing_since or now
        if now - ep.failing_since >= DISABLE_AFTER:
            return endpoints.disable(s, ep, "every delivery failed for 5 days", notify=True)
    return []
