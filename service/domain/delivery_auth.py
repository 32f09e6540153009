"""Who may receive a webhook: the one authorization check for every outgoing event.

"May this endpoint receive this event about this athlete, built from these sources, now?" is asked
when a delivery is planned, again just before each send (consent may have been withdrawn in the
meantime: the delivery is then cancelled, not sent) and when an endpoint asks for a replay.

The answer combines, in order: the endpoint is active and subscribed; who the endpoint speaks for
(the athlete themself, a club, an API-key integrator, or the operator's own endpoint); for a club,
a live membership whose consent scopes cover what the event carries; for an integrator, the
athlete's grant to that integrator (service/domain/integrators.py), whose scopes must cover what the
event carries (the same EVENT_SCOPES as clubs); and the per-source policy of DESIGN §2
(service/domain/policy.py): data derived from Strava never reaches a club or an integrator,
whatever consent says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import integrators, policy
from service.models import Athlete, ClubMember, Endpoint

# What a club member must have consented to share before an event about them reaches the club.
# activity.analyzed carries distance, descent and finding ids, so it needs all three; the athlete.*
# events only say that a provider was (dis)connected, which any consenting membership covers.
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "finding.created": frozenset({"findings"}),
    "finding.withdrawn": frozenset({"findings"}),
    "activity.analyzed": frozenset({"findings", "distance", "descent"}),
    "athlete.connected": frozenset(),
    "athlete.disconnected": frozenset(),
}
UNKNOWN_SOURCE = "unknown"  # a payload without its sources is treated as shareable with nobody


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    audience: str = "none"

    def __bool__(self) -> bool:
        return self.allowed


def audience_of(ep: Endpoint) -> str:
    """athlete (a runner's own endpoint), club, integrator (API key) or operator (CLI)."""
    if ep.athlete_id:
        return "athlete"
    if ep.club_id:
        return "club"
    # an endpoint made with an integrator's key before integrators had ids counts as an
    # integrator's (with no grant: it receives nothing), never as the operator's
    return "integrator" if ep.integrator_id or ep.owner_key_id else "operator"


def event_sources(event_type: str, data: dict) -> list[str]:
    """The sources an event's payload was built from (what the per-source policy judges)."""
    if event_type.startswith("athlete."):
        return [data.get("provider") or UNKNOWN_SOURCE]
    sources = data.get("sources")
    return list(sources) if sources else [UNKNOWN_SOURCE]


def may_receive(s: Session, ep: Endpoint, event_type: str, athlete_id: str | None,
                sources: Iterable[str]) -> Verdict:
    """The one check; `sources` is ignored for events about no athlete (endpoint.test)."""
    audience = audience_of(ep)
    if ep.status != "active":
        return Verdict(False, f"endpoint is {ep.status}", audience)
    if event_type not in subscribed(ep):
        return Verdict(False, "endpoint is not subscribed to this event", audience)
    if athlete_id is None:
        ok = event_type == "endpoint.test"
        return Verdict(ok, "test event" if ok else "event about no athlete", audience)
    check = _CHECKS[audience]
    verdict = check(s, ep, event_type, athlete_id)
    if not verdict.allowed or audience == "athlete":
        return verdict
    if not policy.visible(list(sources), _policy_audience(audience)):
        return Verdict(False, f"source policy keeps {sorted(set(sources))} from {audience}s",
                       audience)
    return verdict


def subscribed(ep: Endpoint) -> set[str]:
    """The endpoint's event types; a retraction goes wherever the original went."""
    events = set(ep.event_types or [])
    if "finding.created" in events:
        events.add("finding.withdrawn")
    return events | {"endpoint.test"}


def _owner(s: Session, ep: Endpoint, event_type: str, athlete_id: str) -> Verdict:
    ok = ep.athlete_id == athlete_id
    return Verdict(ok, "the athlete's own endpoint" if ok else "another athlete's endpoint",
                   "athlete")


def _club(s: Session, ep: Endpoint, event_type: str, athlete_id: str) -> Verdict:
    m = s.scalar(select(ClubMember).where(ClubMember.club_id == ep.club_id,
                                          ClubMember.athlete_id == athlete_id))
    if m is None or m.withdrawn_at is not None or m.consented_at is None:
        return Verdict(False, "not a consenting member of the club", "club")
    missing = EVENT_SCOPES.get(event_type, frozenset({"*"})) - set(m.consent_scope or [])
    if missing:
        return Verdict(False, f"member did not consent to share {sorted(missing)}", "club")
    return Verdict(True, "consenting club member", "club")


def _integrator(s: Session, ep: Endpoint, event_type: str, athlete_id: str) -> Verdict:
    g = integrators.grant(s, athlete_id, ep.integrator_id) if ep.integrator_id else None
    if g is None or not g.scopes:
        return Verdict(False, "athlete did not consent to this integrator", "integrator")
    missing = EVENT_SCOPES.get(event_type, frozenset({"*"})) - set(g.scopes)
    if missing:
        return Verdict(False, f"athlete did not consent to share {sorted(missing)} with this "
                       "integrator", "integrator")
    return Verdict(True, "athlete consented to this integrator", "integrator")


def _operator(s: Session, ep: Endpoint, event_type: str, athlete_id: str) -> Verdict:
    # The operator's own endpoints (`kneeguard endpoints add`) are the service itself; only the
    # per-source policy applies to them.
    ok = s.get(Athlete, athlete_id) is not None
    return Verdict(ok, "operator endpoint" if ok else "athlete no longer exists", "operator")


def _policy_audience(audience: str) -> str:
    return "integrator" if audience == "operator" else audience


_CHECKS = {"athlete": _owner, "club": _club, "integrator": _integrator, "operator": _operator}
