"""Integrator webhook endpoints: create (SSRF-checked), list, delete, rotate, test, replay."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.domain import delivery_auth
from service.domain.deliveries import add_once, envelope
from service.domain.email_channel import ENDPOINT_DISABLED
from service.errors import Conflict, InvalidInput, NotFound
from service.infra import netguard
from service.models import Athlete, ClubMember, Delivery, DeliveryAttempt, Endpoint, utcnow
from workers.notify import catalog
from workers.notify.webhooks import new_secret

log = logging.getLogger(__name__)
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


def validate_events(events: list[str]) -> list[str]:
    known = set(catalog.event_types())
    unknown = sorted(set(events) - known)
    if not events or unknown:
        raise InvalidInput("Choose event types from the catalog.",
                           details={"unknown": unknown, "known": sorted(known)})
    return sorted(set(events))


def check_target(url: str, allow_loopback: bool, allow_networks: netguard.Networks = ()) -> None:
    try:
        netguard.check_url(url, allow_loopback=allow_loopback, allow_networks=allow_networks)
    except netguard.UnsafeURL as exc:
        raise InvalidInput(f"This URL cannot receive webhooks: {exc.reason}",
                           code="unsafe_url") from None


def create(s: Session, box, *, url: str, events: list[str], allow_loopback: bool,
           athlete_id: str | None = None, club_id: str | None = None,
           owner_email: str | None = None, description: str | None = None,
           allow_networks: netguard.Networks = ()) -> tuple[Endpoint, str]:
    check_target(url, allow_loopback, allow_networks)
    secret = new_secret()
    ep = Endpoint(url=url, event_types=validate_events(events), athlete_id=athlete_id,
                  club_id=club_id, owner_email=owner_email, description=description,
                  secret_enc=box.encrypt(secret))
    s.add(ep)
    s.flush()
    return ep, secret


def rotate(s: Session, box, ep: Endpoint, overlap: timedelta = DEFAULT_OVERLAP) -> str:
    """A new secret; the old one keeps signing (alongside) until the overlap ends."""
    overlap = min(max(overlap, timedelta(0)), MAX_OVERLAP)
    secret = new_secret()
    ep.previous_secret_enc, ep.previous_expires_at = ep.secret_enc, utcnow() + overlap
    ep.secret_enc = box.encrypt(secret)
    return secret


def send_test(s: Session, ep: Endpoint) -> Delivery:
    now = utcnow()
    data = {"endpoint_id": ep.id, "message": "This is a test event from kneeguard."}
    row = add_once(s, channel="webhook", dedupe_key=f"webhook:{ep.id}:test:{now.timestamp()}",
                   target=ep.id, event_type="endpoint.test", payload=envelope("endpoint.test", data, now))
    # The key holds the time to the microsecond: only a second send at that instant repeats it.
    assert row is not None, "a test event was sent to this endpoint at this very instant"
    s.flush()
    return row


def replay(s: Session, ep: Endpoint, *, message_id: str | None = None,
           since: datetime | None = None, until: datetime | None = None) -> dict:
    """Send messages again with their original `webhook-id` (the delivery id), but only those the
    endpoint may receive *now*: a member who withdrew, or an athlete who took back consent, is
    not sent again (delivery_auth). Returns `{"replayed": [...], "withheld": n}`."""
    if ep.status != "active":
        raise Conflict("Enable the endpoint before replaying to it.", code="endpoint_disabled")
    q = select(Delivery).where(Delivery.channel == "webhook", Delivery.target == ep.id)
    if message_id:
        q = q.where(Delivery.id == message_id)
    else:
        if since is None:
            raise InvalidInput("Give `message_id`, or `since` (and optionally `until`).")
        q = q.where(Delivery.created_at >= since, Delivery.created_at <= (until or utcnow()))
    rows = list(s.scalars(q.order_by(Delivery.created_at)).all())
    if message_id and not rows:
        raise NotFound("Message not found.")
    allowed = [d.id for d in rows if _authorized_now(s, ep, d)]
    if allowed:
        s.execute(update(Delivery).where(Delivery.id.in_(allowed)).values(
            status="pending", attempt_count=0, next_attempt_at=utcnow()))
    return {"replayed": allowed, "withheld": len(rows) - len(allowed)}


def _authorized_now(s: Session, ep: Endpoint, d: Delivery) -> bool:
    data = (d.payload or {}).get("data") or {}
    return bool(delivery_auth.may_receive(s, ep, d.event_type, d.athlete_id,
                                          delivery_auth.event_sources(d.event_type, data)))


def disable(s: Session, ep: Endpoint, reason: str = "disabled by its owner", *,
            notify: bool = False) -> list[Delivery]:
    """Stop an endpoint (its owner asked, or the deliver job gave up on it: `notify`): pending
    messages are cancelled (after `enable`, a replay sends them again). With `notify`, its owners
    are told by email; returns those emails' delivery rows, to enqueue after the commit.
    Integrators see `status`, `disabled_reason` and `last_error` in the API."""
    if ep.status == "disabled":
        return []
    ep.status, ep.disabled_reason = "disabled", reason[:300]
    s.execute(update(Delivery).where(Delivery.target == ep.id, Delivery.channel == "webhook",
                                     Delivery.status == "pending")
              .values(status="cancelled", next_attempt_at=None))
    log.warning("endpoint disabled", extra={"endpoint": ep.id, "reason": reason})
    if not notify:
        return []
    notices = []
    for to in owner_emails(s, ep):
        notice = Delivery(channel="email", target=to, event_type=ENDPOINT_DISABLED,
                          dedupe_key=f"endpoint-disabled:{ep.id}:{to}:{utcnow().isoformat()}"[:200],
                          payload={"endpoint_id": ep.id, "url": ep.url, "reason": reason})
        s.add(notice)
        notices.append(notice)
    return notices


def owner_emails(s: Session, ep: Endpoint) -> list[str]:
    """Who hears about an endpoint: the address given at creation, the runner whose endpoint it is,
    or the club's admins."""
    emails = {ep.owner_email} if ep.owner_email else set()
    if ep.athlete_id:
        emails.add(s.scalar(select(Athlete.email).where(Athlete.id == ep.athlete_id)))
    if ep.club_id:
        emails |= set(s.scalars(select(Athlete.email).join(
            ClubMember, ClubMember.athlete_id == Athlete.id).where(
            ClubMember.club_id == ep.club_id, ClubMember.role == "admin",
            ClubMember.withdrawn_at.is_(None))))
    return sorted(e for e in emails if e)


def last_error(s: Session, ep: Endpoint) -> str | None:
    """The newest failed attempt's error, for integrators who get no email."""
    row = s.execute(select(DeliveryAttempt.error, DeliveryAttempt.response_code).join(
        Delivery, Delivery.id == DeliveryAttempt.delivery_id).where(
        Delivery.target == ep.id, Delivery.channel == "webhook",
        DeliveryAttempt.outcome.in_(("retry", "failed", "disabled")))
        .order_by(DeliveryAttempt.attempted_at.desc()).limit(1)).first()
    if row is None:
        return None
    return row.error or (f"HTTP {row.response_code}" if row.response_code else None)


def delete(s: Session, ep: Endpoint) -> None:
    """The endpoint and its message log (attempts go with their messages)."""
    s.query(Delivery).filter(Delivery.target == ep.id, Delivery.channel == "webhook").delete()
    s.delete(ep)


def enable(ep: Endpoint) -> None:
    ep.status, ep.disabled_reason, ep.failing_since = "active", None, None


def view(ep: Endpoint, error: str | None = None) -> dict:
    return {"id": ep.id, "url": ep.url, "events": ep.event_types, "athlete_id": ep.athlete_id,
            "club_id": ep.club_id, "status": ep.status, "disabled_reason": ep.disabled_reason,
            "last_error": error, "failing_since": ep.failing_since.isoformat()
            if ep.failing_since else None,
            "description": ep.description, "created_at": ep.created_at.isoformat(),
            "rotation_overlap_until": ep.previous_expires_at.isoformat()
            if ep.previous_expires_at and ep.previous_expires_at > utcnow() else None}


def message_view(d: Delivery, attempts: list[DeliveryAttempt] | None = None) -> dict:
    out = {"id": d.id, "event_type": d.event_type, "status": d.status,
           "attempts": d.attempt_count, "created_at": d.created_at.isoformat(),
           "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None}
    if attempts is not None:
        out["attempt_log"] = [{"at": a.attempted_at.isoformat(), "outcome": a.outcome,
                               "code": a.response_code, "duration_ms": a.duration_ms,
                               "error": a.error} for a in attempts]
    return out
