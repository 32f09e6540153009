"""A run's analysis, stored and told in one call (the analyze job's one entry into the domain).

The job evaluates the rules (workers.analysis, pure) and hands the day's results here: findings
are upserted on (athlete, rule, date, subject) with ids from that key, so a re-run updates in
place and never creates a second finding (nor, downstream, a second delivery); the findings that
no longer hold are withdrawn; and every delivery of the analysis is planned, `finding.created`,
`finding.withdrawn`, what the runner hears (service/domain/grouping.py) and `activity.analyzed`.
The job enqueues the ids it gets back once its session has committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.domain import deliveries, finding_list, grouping
from service.models import Activity, Athlete, Delivery, Finding, WithdrawnFinding
from workers.analysis.severity import rank


def record(s: Session, athlete: Athlete, activity: Activity, day: date, results,
           knee_km: Mapping[str, float], *, notify_max_age_days: int | None) -> list[str]:
    """Store one run's analysed day (`results` of workers.analysis.evaluate, the knee-km of the
    day's runs) and plan every delivery it calls for; returns their ids, to enqueue after the
    commit."""
    day_findings = upsert_findings(s, athlete.id, day, results)
    activity.knee_load_km = knee_km.get(activity.id, activity.knee_load_km)
    activity.status, activity.error = "analyzed", None
    planned = deliveries.plan_findings(
        s, athlete, day_findings.created, notify_max_age_days=notify_max_age_days,
        escalated=day_findings.escalated, lost=day_findings.lost, day_activity=activity.id)
    planned += day_findings.withdrawn
    planned += deliveries.plan_event(s, athlete.id, "activity.analyzed",
                                     analyzed_data(activity, day_findings.created),
                                     key=activity.id)
    s.flush()
    return [d.id for d in planned]


class Upserted(NamedTuple):
    """What one day's upsert changed: new findings, activities whose note showed a finding that
    went, findings now more severe than before (news to the runner, not to integrators:
    `finding.created` is sent once per id), and the `finding.withdrawn` deliveries planned for
    the findings that went (the caller enqueues them after its commit)."""

    created: list[Finding]
    lost: set[str]
    escalated: list[Finding]
    withdrawn: list[Delivery]


def upsert_findings(s: Session, athlete_id: str, day: date, results) -> Upserted:
    """Insert new findings, update changed ones, drop the day's findings that no longer hold.
    A finding that gets more severe (a weekly jump that a late file turns from info into a
    caution) is `escalated`."""
    existing = {(f.rule, f.subject): f for f in s.scalars(
        select(Finding).where(Finding.athlete_id == athlete_id, Finding.date == day))}
    created: list[Finding] = []
    escalated: list[Finding] = []
    seen = set()
    for r in results:
        key = (r.rule, r.activity or "day")
        seen.add(key)
        row = existing.get(key)
        if row is None:
            row = Finding(id=finding_id(athlete_id, r.rule, day, key[1]), athlete_id=athlete_id,
                          activity_id=r.activity, subject=key[1], rule=r.rule, date=day)
            s.add(row)
            created.append(row)
        elif rank(r.severity, 0) > rank(row.severity, 0):
            escalated.append(row)
        row.severity, row.value, row.threshold = r.severity, r.value, r.threshold
        row.message, row.evidence, row.sources = r.message, r.evidence, list(r.sources)
    stale = [f for k, f in existing.items() if k not in seen]
    if created:  # a finding that holds again is no longer listed as withdrawn (same id)
        s.execute(delete(WithdrawnFinding).where(WithdrawnFinding.id.in_([f.id for f in created])))
    lost, withdrawn = _withdraw(s, athlete_id, stale)
    s.flush()
    return Upserted(created, lost, escalated, withdrawn)


def _withdraw(s: Session, athlete_id: str, stale: list[Finding]) -> tuple[set[str], list[Delivery]]:
    """Delete findings that no longer hold, after planning to tell integrators (same ids).
    Returns the activities whose note may now say too much (the runs the findings were about,
    and the runs whose note carried a day finding) and the `finding.withdrawn` rows planned."""
    if not stale:
        return set(), []
    withdrawn = deliveries.plan_withdrawn(s, stale)
    for f in stale:  # the findings API lists them as withdrawn
        finding_list.tombstone(s, f)
    lost = {f.activity_id for f in stale if f.activity_id}
    lost |= grouping.noted_activities(s, athlete_id, [f for f in stale if not f.activity_id])
    s.execute(delete(Finding).where(Finding.id.in_([f.id for f in stale])))
    return lost, withdrawn


def analyzed_data(activity: Activity, findings: list[Finding]) -> dict:
    """The activity.analyzed payload (schema: workers/notify/schemas); `sources` lets the one
    authorization check keep Strava-derived runs from clubs and integrators."""
    sources = {activity.source} | {src for f in findings for src in (f.sources or [])}
    return {"activity_id": activity.id, "athlete_id": activity.athlete_id,
            "source": activity.source, "sport": activity.sport or "unknown",
            "sub_sport": activity.sub_sport,
            "start_time": activity.start_time.isoformat().replace("+00:00", "Z"),
            "distance_m": max(activity.distance_m or 0.0, 0.0),
            "moving_time_s": activity.moving_time_s, "indoor": bool(activity.indoor),
            "elevation_loss_m": None if activity.loss_m is None else max(activity.loss_m, 0.0),
            "knee_load_km": activity.knee_load_km,
            "finding_ids": [f.id for f in findings], "sources": sorted(sources)}


def finding_id(athlete_id: str, rule: str, day: date, subject: str) -> str:
    """The same (athlete, rule, date, subject) always gets the same id, so a finding that a
    re-analysis drops and a later one finds again is still the finding integrators were sent."""
    key = f"{athlete_id}|{rule}|{day.isoformat()}|{subject}".encode()
    return "fnd_" + hashlib.sha256(key).hexdigest()[:32]
