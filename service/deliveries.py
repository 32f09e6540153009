"""Planning outgoing messages: one Delivery row per (destination, event), unique by key.

The analyze job calls `plan_findings` in the same transaction that creates the findings, so a
retried analysis (which creates no new findings) plans nothing new, and a crash before the commit
plans nothing at all. Rows are sent later by `workers.deliver.deliver`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service import jobs, policy
from service.models import Activity, Athlete, ClubMember, Delivery, Endpoint, Finding, utcnow

SEVERITY_RANK = {"info": 0, "caution": 1, "high": 2}
# `integrators`: share findings with third-party integrators' webhooks (API-key endpoints). Off until
# the runner says so (DESIGN §2: integrator webhooks only with consent). The operator's own
# endpoints (`kneeguard endpoints add`) are the service itself and need no extra consent.
DEFAULT_PREFERENCES = {"email": True, "strava_note": False, "min_severity": "caution",
                       "integrators": False}


def preferences(athlete: Athlete) -> dict:
    return {**DEFAULT_PREFERENCES, **(athlete.preferences or {})}


def finding_data(f: Finding) -> dict:
    """A finding exactly as in the analyze JSON, plus its ids (DESIGN §5 `finding.created`)."""
    return {
        "id": f.id, "athlete_id": f.athlete_id, "activity_id": f.activity_id,
        "rule": f.rule, "severity": f.severity, "activity": f.activity_id,
        "date": f.date.isoformat(), "value": f.value, "threshold": f.threshold,
        "message": f.message, "evidence": f.evidence or {}, "sources": list(f.sources or []),
    }


def envelope(event_type: str, data: dict, when: datetime) -> dict:
    return {"type": event_type, "timestamp": when.isoformat().replace("+00:00", "Z"), "data": data}


def add_once(s: Session, **fields) -> Delivery | None:
    """Insert a delivery unless one with the same dedupe key exists (then None)."""
    if s.scalar(select(Delivery.id).where(Delivery.dedupe_key == fields["dedupe_key"])):
        return None
    row = Delivery(**fields)
    s.add(row)
    return row


def endpoints_for(s: Session, athlete_id: str, event_type: str) -> list[tuple[Endpoint, str]]:
    """Active endpoints that want this event for this athlete, with the audience each represents."""
    clubs = select(ClubMember.club_id).where(
        ClubMember.athlete_id == athlete_id, ClubMember.consented_at.is_not(None),
        ClubMember.withdrawn_at.is_(None))
    rows = s.scalars(select(Endpoint).where(Endpoint.status == "active", or_(
        Endpoint.athlete_id == athlete_id, Endpoint.club_id.in_(clubs),
        (Endpoint.athlete_id.is_(None) & Endpoint.club_id.is_(None))))).all()
    out = []
    consented: bool | None = None
    for ep in rows:
        if event_type not in (ep.event_types or []):
            continue
        audience = "athlete" if ep.athlete_id else "club" if ep.club_id else "integrator"
        if audience == "integrator" and ep.owner_key_id:
            if consented is None:
                athlete = s.get(Athlete, athlete_id)
                consented = bool(athlete and preferences(athlete).get("integrators"))
            if not consented:
                continue
        out.append((ep, audience))
    return out


def plan_findings(s: Session, athlete: Athlete, findings: list[Finding], *,
                  notify_max_age_days: int | None = None) -> list[Delivery]:
    """Deliveries for newly created findings: webhooks, one email, a Strava note per activity.

    Webhooks carry every finding (integrators keep the record). Emails and notes only speak of
    the last `notify_max_age_days` days: importing ten years of history must not send the runner
    a warning for every spike of 2016."""
    if not findings:
        return []
    planned: list[Delivery | None] = []
    now = utcnow()
    for ep, audience in endpoints_for(s, athlete.id, "finding.created"):
        for f in findings:
            if policy.visible(f.sources or [], audience):
                planned.append(add_once(
                    s, channel="webhook", dedupe_key=f"webhook:{ep.id}:finding.created:{f.id}",
                    athlete_id=athlete.id, target=ep.id, event_type="finding.created",
                    payload=envelope("finding.created", finding_data(f), now)))
    recent = [f for f in findings if notify_max_age_days is None
              or f.date >= now.date() - timedelta(days=notify_max_age_days)]
    planned.append(_plan_email(s, athlete, recent))
    planned += _plan_notes(s, athlete, recent)
    return [d for d in planned if d is not None]


def plan_event(s: Session, athlete_id: str, event_type: str, data: dict, key: str) -> list[Delivery]:
    """Deliveries of a non-finding event (activity.analyzed, athlete.connected/disconnected)."""
    now = utcnow()
    planned = [add_once(s, channel="webhook", dedupe_key=f"webhook:{ep.id}:{event_type}:{key}",
                        athlete_id=athlete_id, target=ep.id, event_type=event_type,
                        payload=envelope(event_type, data, now))
               for ep, _audience in endpoints_for(s, athlete_id, event_type)]
    return [d for d in planned if d is not None]


def enqueue(rt, delivery_ids) -> None:
    """After the commit that created them: hand deliveries to the notify queue (the sweeper
    backs this up if the process dies in between)."""
    for delivery_id in delivery_ids:
        jobs.deliver(rt, delivery_id)


def _plan_email(s: Session, athlete: Athlete, findings: list[Finding]) -> Delivery | None:
    prefs = preferences(athlete)
    floor = SEVERITY_RANK.get(prefs.get("min_severity", "caution"), 1)
    chosen = sorted(f.id for f in findings if SEVERITY_RANK.get(f.severity, 0) >= floor)
    if not (prefs.get("email") and athlete.email and chosen):
        return None
    return add_once(s, channel="email", dedupe_key=f"email:{_digest(chosen)}",
                    athlete_id=athlete.id, target=athlete.email, event_type="finding.created",
                    payload={"finding_ids": chosen})


def _plan_notes(s: Session, athlete: Athlete, findings: list[Finding]) -> list[Delivery | None]:
    """A Strava description note per Strava activity with new findings, if the runner chose it."""
    if not (athlete.note_writeback or preferences(athlete).get("strava_note")):
        return []
    ids = {f.activity_id for f in findings if f.activity_id}
    acts = s.scalars(select(Activity).where(Activity.id.in_(ids), Activity.source == "strava")).all()
    planned = []
    for a in acts:
        digest = _digest(sorted(f.id for f in findings if f.activity_id == a.id))
        planned.append(add_once(s, channel="strava_note", dedupe_key=f"strava_note:{a.id}:{digest}",
                                athlete_id=athlete.id, target=a.id, event_type="finding.created",
                                payload={"activity_id": a.id}))
    return planned


def plan_note_refresh(s: Session, athlete: Athlete, activity_ids: set[str]) -> list[Delivery]:
    """Rewrite (or remove) our note on Strava activities whose findings were dropped by a
    re-analysis, when a note was written there before. The sender renders the current findings;
    with none left it removes our block."""
    if not activity_ids:
        return []
    noted = set(s.scalars(select(Delivery.target).where(
        Delivery.channel == "strava_note", Delivery.status == "sent",
        Delivery.target.in_(activity_ids))))
    planned = []
    for activity_id in sorted(noted):
        current = sorted(s.scalars(select(Finding.id).where(Finding.activity_id == activity_id)))
        planned.append(add_once(
            s, channel="strava_note", dedupe_key=f"strava_note:{activity_id}:now:{_digest(current)}",
            athlete_id=athlete.id, target=activity_id, event_type="finding.updated",
            payload={"activity_id": activity_id}))
    return [d for d in planned if d is not None]


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]


def unsubscribe_token(secret_key: str, athlete_id: str, channel: str = "email") -> str:
    return URLSafeSerializer(secret_key, salt="unsubscribe").dumps({"a": athlete_id, "c": channel})


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[str, str] | None:
    try:
        data = URLSafeSerializer(secret_key, salt="unsubscribe").loads(token)
    except BadSignature:
        return None
    return data.get("a"), data.get("c")
