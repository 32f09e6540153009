"""The deliver job: one attempt at one Delivery row, recorded as a DeliveryAttempt row.

A lease (next_attempt_at pushed forward and committed before the send) stops two workers from
sending the same message at once; if a worker dies mid-send the lease runs out and the sweeper
retries. Receivers therefore see at-least-once delivery with the same `webhook-id` every time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select, update

from service import jobs
from service import runtime as runtime_mod
from service.deliveries import finding_data, unsubscribe_token
from service.metrics import JOBS
from service.models import Athlete, Delivery, DeliveryAttempt, Endpoint, Finding, utcnow
from workers.notify import email as mail
from workers.notify import webhooks

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=3)
DISABLE_AFTER = timedelta(days=5)


@dataclass
class Outcome:
    outcome: str  # ok|retry|failed|disabled|cancelled
    code: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    snippet: str | None = None
    next_delay_s: float | None = None


Sender = Callable[[object, Delivery], Outcome]
SENDERS: dict[str, Sender] = {}


def sender(channel: str):
    def register(fn: Sender) -> Sender:
        SENDERS[channel] = fn
        return fn
    return register


def deliver(delivery_id: str) -> None:
    rt = runtime_mod.current()
    import workers.providers  # noqa: F401  (provider channels register their senders)

    delivery = _claim(rt, delivery_id)
    if delivery is None:
        return
    fn = SENDERS.get(delivery.channel)
    try:
        result = fn(rt, delivery) if fn else Outcome("failed", error=f"no sender for {delivery.channel}")
    except Exception as exc:  # a sender bug must not lose the message: retry on the schedule
        log.exception("sender crashed", extra={"delivery": delivery_id})
        result = Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:500],
                         next_delay_s=webhooks.next_attempt_delay(delivery.attempt_count))
    for notice_id in _record(rt, delivery_id, result):
        jobs.deliver(rt, notice_id)
    JOBS.labels(f"deliver_{delivery.channel}", result.outcome).inc()


def _claim(rt, delivery_id: str) -> Delivery | None:
    now = utcnow()
    with rt.db.session() as s:
        claimed = s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "pending",
                   Delivery.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE, attempt_count=Delivery.attempt_count + 1)
        ).rowcount
        if claimed != 1:
            return None
        delivery = s.get(Delivery, delivery_id)
        s.expunge(delivery)
        return delivery


def _record(rt, delivery_id: str, result: Outcome) -> list[str]:
    """Store the attempt and the new state; returns deliveries it created (owner notices)."""
    now = utcnow()
    notices: list[Delivery] = []
    with rt.db.session() as s:
        d = s.get(Delivery, delivery_id)
        s.add(DeliveryAttempt(delivery_id=d.id, outcome=result.outcome, response_code=result.code,
                              duration_ms=result.duration_ms, error=result.error,
                              response_snippet=result.snippet))
        if result.outcome == "ok":
            d.status, d.next_attempt_at = "sent", None
        elif result.outcome == "retry" and result.next_delay_s is not None:
            d.next_attempt_at = now + timedelta(seconds=result.next_delay_s)
        else:
            d.status, d.next_attempt_at = ("cancelled" if result.outcome == "cancelled"
                                           else "failed"), None
        if d.channel == "webhook":
            notices = _endpoint_health(s, d, result, now)
        s.flush()
        return [n.id for n in notices]


def _endpoint_health(s, d: Delivery, result: Outcome, now) -> list[Delivery]:
    ep = s.get(Endpoint, d.target)
    if ep is None:
        return []
    if result.outcome == "ok":
        ep.failing_since = None
    elif result.outcome == "disabled":
        return _disable(s, ep, f"the endpoint answered 410 Gone ({now.isoformat()})")
    elif result.outcome in ("retry", "failed"):
        ep.failing_since = ep.failing_since or now
        if now - ep.failing_since >= DISABLE_AFTER:
            return _disable(s, ep, "every delivery failed for 5 days")
    return []


def _disable(s, ep: Endpoint, reason: str) -> list[Delivery]:
    if ep.status == "disabled":
        return []
    ep.status, ep.disabled_reason = "disabled", reason
    s.execute(update(Delivery).where(Delivery.target == ep.id, Delivery.status == "pending")
              .values(status="cancelled", next_attempt_at=None))
    log.warning("endpoint disabled", extra={"endpoint": ep.id, "reason": reason})
    if not ep.owner_email:
        return []
    notice = Delivery(channel="email", dedupe_key=f"endpoint-disabled:{ep.id}:{utcnow().date()}",
                      target=ep.owner_email, event_type="endpoint.disabled",
                      payload={"endpoint_id": ep.id, "url": ep.url, "reason": reason})
    s.add(notice)
    return [notice]


@sender("webhook")
def send_webhook(rt, d: Delivery) -> Outcome:
    with rt.db.session() as s:
        ep = s.get(Endpoint, d.target)
        if ep is None or ep.status != "active":
            return Outcome("cancelled", error="endpoint deleted or disabled")
        secrets = active_secrets(rt.box, ep)
        url = ep.url
    body = webhooks.build_payload(d.payload["type"], d.payload["data"], _timestamp(d))
    r = webhooks.send_attempt(url, secrets, d.id, body, attempt_number=d.attempt_count,
                              allow_loopback=rt.settings.webhook_allow_loopback)
    outcome = {"ok": "ok", "disable": "disabled"}.get(r.status, "retry" if not r.exhausted else "failed")
    return Outcome(outcome, r.code, r.duration_ms, r.error, r.response_snippet, r.next_delay_s)


def active_secrets(box, ep: Endpoint) -> list[str]:
    """The current secret, plus the previous one while its rotation overlap lasts."""
    secrets = [box.decrypt(ep.secret_enc)]
    if ep.previous_secret_enc and ep.previous_expires_at and ep.previous_expires_at > utcnow():
        secrets.append(box.decrypt(ep.previous_secret_enc))
    return secrets


def _timestamp(d: Delivery):
    from datetime import datetime

    return datetime.fromisoformat(d.payload["timestamp"].replace("Z", "+00:00"))


@sender("email")
def send_mail(rt, d: Delivery) -> Outcome:
    settings = rt.settings
    msg = _endpoint_notice(settings, d) if d.event_type == "endpoint.disabled" else _finding_mail(rt, d)
    if msg is None:
        return Outcome("cancelled", error="nothing left to send (findings deleted)")
    try:
        result = mail.send_email(msg, settings.smtp_url, settings.email_outbox_dir)
    except mail.EmailSendError as exc:
        delay = None if exc.permanent else webhooks.next_attempt_delay(d.attempt_count)
        return Outcome("retry" if delay else "failed", error=str(exc)[:500], next_delay_s=delay)
    return Outcome("ok", snippet=str(result.path) if result.path else result.transport)


def _finding_mail(rt, d: Delivery) -> EmailMessage | None:
    settings = rt.settings
    with rt.db.session() as s:
        findings = s.scalars(select(Finding).where(Finding.id.in_(d.payload["finding_ids"]))).all()
        athlete = s.get(Athlete, d.athlete_id)
        if not findings or athlete is None or not athlete.email:
            return None
        data = [finding_data(f) for f in findings]
        to = athlete.email
    token = unsubscribe_token(settings.secret_key, d.athlete_id, "email")
    return mail.render_finding_email(
        data, to, f"{settings.public_url}/unsubscribe/{token}", f"{settings.public_url}/me",
        key=d.id, mail_from=settings.mail_from)


def _endpoint_notice(settings, d: Delivery) -> EmailMessage:
    msg = EmailMessage(policy=mail.MAIL_POLICY)
    msg["Subject"] = "kneeguard: your webhook endpoint was disabled"
    msg["From"], msg["To"] = settings.mail_from, d.target
    msg["Message-ID"] = mail.message_id(d.id, settings.mail_from)
    msg[mail.KEY_HEADER] = d.id
    msg.set_content(f"Webhook deliveries to {d.payload['url']} were stopped: {d.payload['reason']}.\n"
                    f"Fix the receiver, then re-enable the endpoint and replay what it missed.\n")
    return msg
