"""What the runner hears: one email per analysis grouped by week, one note per Strava activity.

Webhooks carry every finding, one `finding.created` each (deliveries.plan_findings); the runner's
own channels group them, because a bad week that sends five messages is switched off by the third.

Email. The findings one analysis brings (new, or more severe than before) go out as ONE email. A
*topic* is (rule, local week starting Monday): a topic the runner was already emailed about at
the same or a higher severity is left out, an escalation is not. An email still waiting for its
first attempt takes in later findings instead of a second email being planned. Findings below
the runner's floor are never emailed (an info-only batch is sent only if the floor is `info`).
When sending, the email reads its findings and the runner's preferences again: what was withdrawn
or fell below a raised floor is left out, and what it includes is recorded in the row (only a
sent email's included findings count as told, so a withdrawn one never silences another).

Strava note. One note per activity: that run's findings plus the day findings (weekly jump,
weekly descent…) that its own analysis raised. Each note row carries the whole set the note
should show; the sender renders the newest row's set for the activity, so a retried older row
never writes stale text, and one analysis plans at most one row per activity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.domain.accounts import preferences
from service.infra.db import changed
from service.models import Activity, Athlete, Delivery, Finding
from workers.analysis.digest import week_of
from workers.analysis.severity import rank

EVENT = "finding.created"
LIVE = ("pending", "sent")


def floor_of(athlete: Athlete) -> int:
    return rank(preferences(athlete).get("min_severity", "caution"), 1)


def topic(f: Finding) -> list:
    """[rule, Monday of the finding's local week, severity] (finding dates are local days)."""
    return [f.rule, week_of(f.date).isoformat(), f.severity]


# ---- email -------------------------------------------------------------------------------------


def plan_email(s: Session, athlete: Athlete, findings: Iterable[Finding]) -> Delivery | None:
    """The one email for these findings, or None when there is nothing the runner has not heard."""
    prefs = preferences(athlete)
    floor = floor_of(athlete)
    wanted = [f for f in findings if rank(f.severity, 0) >= floor]
    if not (prefs.get("email") and athlete.email and wanted):
        return None
    rows = email_rows(s, athlete.id, min(week_of(f.date) for f in wanted))
    seen = [(d.status, _topics(d), _included(d)) for d in rows]
    fresh = {f.id: topic(f) for f in wanted if not _heard(f, seen)}
    if not fresh:
        return None
    waiting = next((d for d in rows if d.status == "pending" and d.attempt_count == 0), None)
    if waiting is not None and _absorb(s, waiting, fresh):
        return waiting
    ids = sorted(fresh)
    return _insert(s, f"email:{_digest(ids)}", channel="email", athlete_id=athlete.id,
                   target=athlete.email, event_type=EVENT,
                   payload={"finding_ids": ids, "topics": fresh})


def email_rows(s: Session, athlete_id: str, since_week: date) -> list[Delivery]:
    """The athlete's finding emails that may speak of weeks from `since_week` on (an email about a
    week is planned after that week's Monday), oldest first."""
    since = datetime.combine(since_week - timedelta(days=1), time(0), tzinfo=UTC)
    return list(s.scalars(select(Delivery).where(
        Delivery.athlete_id == athlete_id, Delivery.channel == "email",
        Delivery.event_type == EVENT, Delivery.status.in_(LIVE), Delivery.created_at >= since)
        .order_by(Delivery.created_at, Delivery.id)))


def _heard(f: Finding, seen: list[tuple[str, dict, set[str]]]) -> bool:
    """Is this finding waiting in an email at this severity, or its topic in a sent email at
    least as severe? (An escalation is news; a topic counts as told once the email went out.)
    `seen`: (status, topics, included) of the athlete's live finding emails."""
    level, key = rank(f.severity, 0), (f.rule, week_of(f.date).isoformat())
    for status, topics, included in seen:
        if status != "sent":
            mine = topics.get(f.id)
            if mine is not None and rank(mine[2], 0) >= level:
                return True
        elif any((t[0], t[1]) == key and rank(t[2], 0) >= level
                 for fid, t in topics.items() if fid in included):
            return True
    return False


def _topics(d: Delivery) -> dict[str, list]:
    payload = d.payload or {}
    if "topics" in payload:
        return payload["topics"]
    # An email planned before emails carried their topics: its findings that still exist.
    session = Session.object_session(d)
    assert session is not None, "a delivery read from the database"
    ids = payload.get("finding_ids", [])
    return {f.id: topic(f) for f in session.scalars(select(Finding).where(Finding.id.in_(ids)))}


def _included(d: Delivery) -> set[str]:
    payload = d.payload or {}
    return set(payload.get("included", payload.get("finding_ids", [])))


def email_findings(s: Session, d: Delivery) -> list[Finding] | str:
    """At send time: the findings this email still carries (existing, at or above the runner's
    floor now), recorded in the row as `included`; or why nothing is sent."""
    athlete = s.get(Athlete, d.athlete_id)
    if athlete is None or not athlete.email:
        return "the runner or their address is gone"
    if not preferences(athlete).get("email"):
        return "the runner switched email off"
    floor = floor_of(athlete)
    ids = (d.payload or {}).get("finding_ids", [])
    found = [f for f in s.scalars(select(Finding).where(Finding.id.in_(ids)))
             if rank(f.severity, 0) >= floor]
    if not found:
        return "nothing left to send (findings withdrawn or below the runner's floor)"
    row = s.get_one(Delivery, d.id)
    row.payload = {**(row.payload or {}), "included": sorted(f.id for f in found)}
    return found


# ---- Strava description note -------------------------------------------------------------------


def plan_notes(s: Session, athlete: Athlete, findings: Iterable[Finding],
               lost: Iterable[str] = (), day_activity: str | None = None) -> list[Delivery]:
    """At most one note row per Strava activity: for the runs with new findings (day findings go
    to `day_activity`, the run whose analysis raised them) and the runs that lost one."""
    if not (athlete.note_writeback or preferences(athlete).get("strava_note")):
        return []
    adds: dict[str, set[str]] = {a: set() for a in lost}
    for f in findings:
        target = f.activity_id or day_activity
        if target:
            adds.setdefault(target, set()).add(f.id)
    if not adds:
        return []
    strava = s.scalars(select(Activity.id).where(Activity.id.in_(adds),
                                                 Activity.source == "strava"))
    floor = floor_of(athlete)
    planned = [_revise(s, athlete.id, a, adds[a], floor) for a in sorted(strava)]
    return [d for d in planned if d is not None]


def _revise(s: Session, athlete_id: str, activity_id: str, new: set[str],
            floor: int) -> Delivery | None:
    rows = note_rows(s, activity_id)
    latest = rows[-1] if rows else None
    shown = set(_note_ids(s, latest, activity_id)) if latest else set()
    state = _existing(s, shown | new, floor)
    if latest is not None and state == shown:
        return None  # the note says (or is about to say) exactly this
    waiting = latest is not None and latest.status == "pending" and latest.attempt_count == 0
    if not state and not any(d.attempt_count for d in rows):
        if waiting and latest is not None:  # never written, nothing left to write: never write it
            _absorb(s, latest, payload={**(latest.payload or {}), "finding_ids": []}, cancel=True)
        return None
    payload = {"activity_id": activity_id, "finding_ids": sorted(state)}
    if waiting and latest is not None and _absorb(s, latest, payload=payload):
        return latest
    return _insert(s, f"strava_note:{activity_id}:{_digest(sorted(state))}",
                   channel="strava_note", athlete_id=athlete_id, target=activity_id,
                   event_type=EVENT if new else "finding.updated", payload=payload)


def note_rows(s: Session, activity_id: str) -> list[Delivery]:
    return list(s.scalars(select(Delivery).where(
        Delivery.channel == "strava_note", Delivery.target == activity_id)
        .order_by(Delivery.created_at, Delivery.id)))


def note_findings(s: Session, activity_id: str) -> list[Finding]:
    """What the activity's note shows now: the newest note row's findings that still exist."""
    rows = note_rows(s, activity_id)
    ids = _note_ids(s, rows[-1], activity_id) if rows else []
    found = list(s.scalars(select(Finding).where(Finding.id.in_(ids)))) if ids else []
    # The run's own findings before the week's (the note sorts by severity, stably).
    return sorted(found, key=lambda f: (f.activity_id is None, f.rule))


def _note_ids(s: Session, row: Delivery, activity_id: str) -> list[str]:
    ids = (row.payload or {}).get("finding_ids")
    if ids is not None:
        return list(ids)
    # A row planned before notes carried their set: the run's own findings, as it was rendered.
    return list(s.scalars(select(Finding.id).where(Finding.activity_id == activity_id)))


def noted_activities(s: Session, athlete_id: str, findings: Iterable[Finding]) -> set[str]:
    """Activities whose latest note shows any of these findings (day findings that a re-analysis
    withdrew: their notes must be rewritten). A note row is planned after its findings' day."""
    wanted = {f.id: f.date for f in findings}
    if not wanted:
        return set()
    since = datetime.combine(min(wanted.values()) - timedelta(days=1), time(0), tzinfo=UTC)
    rows = s.scalars(select(Delivery).where(
        Delivery.athlete_id == athlete_id, Delivery.channel == "strava_note",
        Delivery.created_at >= since).order_by(Delivery.created_at, Delivery.id))
    latest = {d.target: d for d in rows}
    return {a for a, d in latest.items()
            if a is not None and set(wanted) & set((d.payload or {}).get("finding_ids", ()))}


def _existing(s: Session, ids: set[str], floor: int) -> set[str]:
    if not ids:
        return set()
    rows = s.execute(select(Finding.id, Finding.severity).where(Finding.id.in_(ids)))
    return {r.id for r in rows if rank(r.severity, 0) >= floor}


# ---- rows ---------------------------------------------------------------------------------------


def _absorb(s: Session, row: Delivery, topics: dict | None = None,
            payload: dict | None = None, cancel: bool = False) -> bool:
    """Grow (email) or replace (note) the payload of a row no worker has claimed yet, or cancel
    it. The claim bumps attempt_count in one UPDATE, so this conditional UPDATE either lands
    before it or not at all (then the caller plans a new row)."""
    if payload is None:
        old, topics = row.payload or {}, topics or {}
        payload = {**old, "finding_ids": sorted(set(old.get("finding_ids", [])) | set(topics)),
                   "topics": {**old.get("topics", {}), **topics}}
    values: dict[str, Any] = {"payload": payload}
    if cancel:
        values.update(status="cancelled", next_attempt_at=None)
    done = changed(s.execute(update(Delivery).where(
        Delivery.id == row.id, Delivery.status == "pending", Delivery.attempt_count == 0)
        .values(**values).execution_options(synchronize_session=False)))
    if done == 1:
        s.expire(row)
    return done == 1


def _insert(s: Session, key: str, **fields) -> Delivery:
    """A new row under `key`, or `key:rN` when an earlier row used it (the same findings may need
    telling again after a withdrawal; a retried analysis rolls back and reuses the same key)."""
    taken = set(s.scalars(select(Delivery.dedupe_key).where(
        Delivery.dedupe_key.startswith(key, autoescape=True))))
    n = 0
    while (candidate := key if n == 0 else f"{key}:r{n}") in taken:
        n += 1
    row = Delivery(dedupe_key=candidate, **fields)
    s.add(row)
    return row


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]
