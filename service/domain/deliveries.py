"""Planning outgoing messages: one Delivery row per (destination, event), unique by key.

The analyze job calls `plan_findings` in the same transaction that creates the findings, so a
retried analysis (which creates no new findings) plans nothing new, and a crash before the commit
plans nothing at all. Rows are sent later by `workers.deliver.deliver`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.domain import delivery_auth, grouping
from service.domain.accounts import DEFAULT_PREFERENCES, preferences  # noqa: F401  (callers' import)
from service.infra import jobs
from service.models import Athlete, ClubMember, Delivery, Endpoint, Finding, utcnow
from workers.notify import webhooks


def finding_data(f: Finding) -> dict:
    """A finding exactly as in the analyze JSON, plus its ids (DESIGN §5 `finding.created`)."""
    return {
        "id": f.id, "athlete_id": f.athlete_id, "activity_id": f.activity_id,
        "rule": f.rule, "severity": f.severity, "activity": f.activity_id,
        "date": f.date.isoformat(), "value": f.value, "threshold": f.threshold,
        "message": f.message, "evidence": f.evidence or {}, "sources": list(f.sources or []),
    }


def envelope(event_type: str, data: dict, when: datetime) -> dict:
    """The stored message: the same envelope the webhook sender encodes (workers.notify)."""
    return webhooks.envelope(event_type, data, when)


def add_once(s: Session, **fields) -> Delivery | None:
    """Insert a delivery unless one with the same dedupe key exists (then None)."""
    if s.scalar(select(Delivery.id).where(Delivery.dedupe_key == fields["dedupe_key"])):
        return None
    row = Delivery(**fields)
    s.add(row)
    return row


def candidate_endpoints(s: Session, athlete_id: str) -> list[Endpoint]:
    """Active endpoints that could speak for this athlete; `delivery_auth` decides which may."""
    clubs = select(ClubMember.club_id).where(ClubMember.athlete_id == athlete_id)
    return list(s.scalars(select(Endpoint).where(Endpoint.status == "active", or_(
        Endpoint.athlete_id == athlete_id, Endpoint.club_id.in_(clubs),
        (Endpoint.athlete_id.is_(None) & Endpoint.club_id.is_(None))))
        .order_by(Endpoint.created_at)).all())


def plan_webhooks(s: Session, athlete_id: str, event_type: str, data: dict, key: str,
                  when: datetime | None = None,
                  key_for=None) -> list[Delivery]:
    """One webhook delivery per endpoint allowed to receive this event (delivery_auth)."""
    sources = delivery_auth.event_sources(event_type, data)
    when = when or utcnow()
    planned = []
    for ep in candidate_endpoints(s, athlete_id):
        if not delivery_auth.may_receive(s, ep, event_type, athlete_id, sources):
            continue
        dedupe = key_for(ep) if key_for else f"webhook:{ep.id}:{event_type}:{key}"
        if dedupe is None:
            continue
        planned.append(add_once(s, channel="webhook", dedupe_key=dedupe, athlete_id=athlete_id,
                                target=ep.id, event_type=event_type,
                                payload=envelope(event_type, data, when)))
    return [d for d in planned if d is not None]


def plan_findings(s: Session, athlete: Athlete, findings: list[Finding], *,
                  notify_max_age_days: int | None = None, escalated: Iterable[Finding] = (),
                  lost: Iterable[str] = (), day_activity: str | None = None) -> list[Delivery]:
    """Deliveries for an analysis's new `findings`: a `finding.created` webhook each; for them
    and the `escalated` ones (more severe than before), one email and at most one Strava note
    per activity (service/domain/grouping.py).

    Emails and notes only speak of the last `notify_max_age_days` days: importing ten years of
    history must not send the runner a warning for every spike of 2016. `lost`: activities that
    lost a finding (their notes are rewritten); `day_activity`: the run whose analysis raised the
    day's findings (weekly jump, weekly descent…), whose note carries them."""
    planned: list[Delivery | None] = []
    now = utcnow()
    for f in findings:
        planned += plan_webhooks(s, athlete.id, "finding.created", finding_data(f), f.id, now,
                                 key_for=lambda ep, f=f: _created_key(s, ep.id, f.id))
    recent = [f for f in [*findings, *escalated] if notify_max_age_days is None
              or f.date >= now.date() - timedelta(days=notify_max_age_days)]
    planned.append(grouping.plan_email(s, athlete, recent))
    planned += grouping.plan_notes(s, athlete, recent, lost, day_activity)
    return [d for d in planned if d is not None]


def plan_event(s: Session, athlete_id: str, event_type: str, data: dict, key: str) -> list[Delivery]:
    """Deliveries of a non-finding event (activity.analyzed, athlete.connected/disconnected)."""
    return plan_webhooks(s, athlete_id, event_type, data, key)


# ---- finding revisions: created → withdrawn → created again … ------------------------------------


def _revisions(s: Session, endpoint_id: str, finding_id: str, event_type: str) -> list[Delivery]:
    prefix = f"webhook:{endpoint_id}:{event_type}:{finding_id}"
    rows = s.scalars(select(Delivery).where(Delivery.dedupe_key.startswith(prefix, autoescape=True))
                     .order_by(Delivery.created_at)).all()
    return [d for d in rows if d.dedupe_key == prefix or d.dedupe_key.startswith(prefix + ":r")]


def _revision_key(base: str, n: int) -> str:
    return base if n == 0 else f"{base}:r{n}"


def _created_key(s: Session, endpoint_id: str, finding_id: str) -> str | None:
    """A finding keeps its id across re-analyses, so a finding that was withdrawn and now holds
    again is announced again under a new key; otherwise the first key dedupes retried analyses."""
    created = _revisions(s, endpoint_id, finding_id, "finding.created")
    withdrawn = _revisions(s, endpoint_id, finding_id, "finding.withdrawn")
    if len(created) > len(withdrawn):
        return None  # announced and not retracted: nothing new to say
    return _revision_key(f"webhook:{endpoint_id}:finding.created:{finding_id}", len(withdrawn))


def withdrawn_data(f: Finding, reason: str) -> dict:
    return {"id": f.id, "athlete_id": f.athlete_id, "activity_id": f.activity_id, "rule": f.rule,
            "date": f.date.isoformat(), "reason": reason, "sources": list(f.sources or []),
            "withdrawn_at": utcnow().isoformat().replace("+00:00", "Z")}


def plan_withdrawn(s: Session, findings: Iterable[Finding],
                   reason: str = "no_longer_holds") -> list[Delivery]:
    """`finding.withdrawn` to every endpoint that was sent (or may have been sent) `finding.created`
    for these findings; a `finding.created` never attempted is simply cancelled instead."""
    planned: list[Delivery] = []
    for f in findings:
        for ep_id in sorted(_announced_to(s, f.id)):
            planned += plan_webhooks(
                s, f.athlete_id, "finding.withdrawn", withdrawn_data(f, reason), f.id,
                key_for=lambda ep, ep_id=ep_id, f=f: _withdrawn_key(s, ep, ep_id, f.id))
    return planned


def _announced_to(s: Session, finding_id: str) -> set[str]:
    """Endpoints whose latest finding.created for this finding may have reached them."""
    rows = s.scalars(select(Delivery).where(
        Delivery.channel == "webhook", Delivery.event_type == "finding.created",
        Delivery.dedupe_key.contains(f":finding.created:{finding_id}", autoescape=True))).all()
    reached: set[str] = set()
    for d in rows:
        if d.status == "pending" and d.attempt_count == 0:
            d.status, d.next_attempt_at = "cancelled", None  # never left: nothing to retract
        elif d.status == "sent" or (d.status in ("pending", "failed") and d.attempt_count > 0):
            if d.target is not None:  # a webhook row's target is its endpoint's id
                reached.add(d.target)  # delivered, or an attempt may have arrived unacknowledged
    return reached


def _withdrawn_key(s: Session, ep: Endpoint, endpoint_id: str, finding_id: str) -> str | None:
    if ep.id != endpoint_id:
        return None
    created = _revisions(s, ep.id, finding_id, "finding.created")
    withdrawn = _revisions(s, ep.id, finding_id, "finding.withdrawn")
    if len(withdrawn) >= len(created):
        return None  # already retracted
    return _revision_key(f"webhook:{ep.id}:finding.withdrawn:{finding_id}", len(withdrawn))


# ---- provider connections: one event per connection lifetime ------------------------------------


def plan_connection_event(s: Session, conn, event_type: str, *, reason: str | None = None,
                          ) -> list[Delivery]:
    """athlete.connected / athlete.disconnected, keyed by the connection's lifetime (its id and
    when it was connected), so a provider's follow-up (Garmin's deregistration after our own
    disconnect, a repeated deauthorization) plans nothing a second time."""
    details = conn.details or {}
    lifetime = details.get("connected_at") or conn.created_at.isoformat()
    now = utcnow().isoformat().replace("+00:00", "Z")
    data = {"athlete_id": conn.athlete_id, "provider": conn.provider}
    if event_type == "athlete.connected":
        data["connected_at"] = _z(lifetime)
    else:
        data.update(disconnected_at=now, reason=reason or "user_request")
    return plan_webhooks(s, conn.athlete_id, event_type, data, f"{conn.id}:{lifetime}")


def _z(moment: str) -> str:
    return moment.replace("+00:00", "Z")


def enqueue(rt, delivery_ids) -> None:
    """After the commit that created them: hand deliveries to the notify queue (the sweeper
    backs this up if the process dies in between)."""
    for delivery_id in delivery_ids:
        jobs.deliver(rt, delivery_id)


def unsubscribe_token(secret_key: str, athlete_id: str, channel: str = "email") -> str:
    return URLSafeSerializer(secret_key, salt="unsubscribe").dumps({"a": athlete_id, "c": channel})


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[str, str] | None:
    try:
        data = URLSafeSerializer(secret_key, salt="unsubscribe").loads(token)
    except BadSignature:
        return None
    return data.get("a"), data.get("c")
