"""A small two-club world with named personas, for authorization and page tests.

- runner A: admin of club A (and sharing everything with it); owns a webhook endpoint;
- runner B: admin of club B (sharing everything with it); owns a webhook endpoint;
- member a1 of club A, member b1 of club B, each with six weeks of runs and findings;
- keys: club A admin, club B admin, club A read-only, an integrator (with its own endpoint).

a1 also has a Strava run, a Strava-derived finding and a private run with a finding: none of them
may reach a club.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from service.domain import accounts, clubs
from service.models import Activity, Delivery, Endpoint, Finding
from testkit.synthetic import run_track


@dataclass
class Persona:
    name: str
    headers: dict = field(default_factory=dict)
    athlete_id: str | None = None


@dataclass
class World:
    personas: dict[str, Persona]
    ids: dict[str, str]  # symbolic object names -> ids


def _runner(runtime, email: str) -> tuple[str, dict]:
    athlete_id, token = accounts.add_athlete(runtime, email)
    return athlete_id, {"Authorization": f"Bearer {token}"}


@lru_cache(maxsize=16)
def _metrics(km: float) -> dict:
    from workers.analysis import compute_metrics

    return compute_metrics(run_track(datetime(2024, 1, 1, tzinfo=UTC), km)).to_dict()


def add_run(s, athlete_id: str, start: datetime, km: float, source: str = "upload",
            private: bool = False) -> str:
    """An activity row with real metrics of a synthetic run (computed once per distance)."""
    metrics = dict(_metrics(km), start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    a = Activity(athlete_id=athlete_id, source=source, start_time=start, sport="running",
                 distance_m=km * 1000.0, moving_time_s=km * 330.0, status="analyzed",
                 metrics=metrics, private=private, name=f"{km:.0f} km")
    s.add(a)
    s.flush()
    return a.id


def seed_runs(s, athlete_id: str, weeks: int = 6, end: datetime | None = None) -> list[str]:
    end = end or datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    return [add_run(s, athlete_id, end - timedelta(days=day), 5.0 + (day % 5))
            for day in range(weeks * 7, 0, -2)]


def add_finding(s, athlete_id: str, activity_id: str | None, *, rule: str, severity: str,
                sources: list[str], days_ago: int = 1) -> str:
    f = Finding(athlete_id=athlete_id, activity_id=activity_id, subject=activity_id or "day",
                rule=rule, date=(datetime.now(UTC) - timedelta(days=days_ago)).date(),
                severity=severity, value=1.4, threshold=1.3, message=f"{rule} for test",
                evidence={"runs": 3}, sources=sources)
    s.add(f)
    s.flush()
    return f.id


def build(runtime) -> World:
    p: dict[str, Persona] = {"anonymous": Persona("anonymous")}
    ids: dict[str, str] = {}
    for who in ("A", "B", "a1", "b1"):
        aid, headers = _runner(runtime, f"runner-{who.lower()}@example.com")
        p[f"runner {who}"] = Persona(f"runner {who}", headers, aid)
        ids[f"athlete {who}"] = aid
    with runtime.db.session() as s:
        for club in ("A", "B"):
            c = clubs.create_club(s, f"Club {club}", admin_athlete_id=ids[f"athlete {club}"])
            ids[f"club {club}"] = c.id
            _, key = clubs.issue_key(s, "club", "admin", ["read", "admin"], club_id=c.id)
            p[f"club {club} admin"] = Persona(f"club {club} admin", _bearer(key))
            invite, token = clubs.create_invite(s, c.id)
            ids[f"invite {club}"], ids[f"invite token {club}"] = invite.id, token
            ids[f"key {club}"] = _.id
            for who in (club, club.lower() + "1"):
                clubs.accept_invite(s, invite, ids[f"athlete {who}"], list(clubs.CONSENT_SCOPES))
            clubs.set_role(s, c.id, ids[f"athlete {club}"], "admin")
        _, key = clubs.issue_key(s, "club", "reader", ["read"], club_id=ids["club A"])
        p["club A read key"] = Persona("club A read key", _bearer(key))
        integ, key = clubs.issue_key(s, "integrator", "acme", ["read", "admin"])
        p["integrator"] = Persona("integrator", _bearer(key))
        ids["key integrator"] = integ.id
        ids["integrator"] = integ.integrator_id
        _seed_data(s, runtime, ids, integ.id)
    ids["member A"], ids["member B"] = ids["athlete a1"], ids["athlete b1"]
    return World(p, ids)


def _bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _seed_data(s, runtime, ids: dict, integrator_key_id: str) -> None:
    for who in ("a1", "b1", "A", "B"):
        runs = seed_runs(s, ids[f"athlete {who}"], weeks=6 if who in ("a1", "b1") else 2)
        ids[f"activity {who}"] = runs[-1]
        ids[f"finding {who}"] = add_finding(s, ids[f"athlete {who}"], runs[-1],
                                            rule="single_run_spike", severity="caution",
                                            sources=["upload"])
    a1 = ids["athlete a1"]
    strava = add_run(s, a1, datetime.now(UTC) - timedelta(days=3), 30.0, source="strava")
    ids["strava activity a1"] = strava
    ids["strava finding a1"] = add_finding(s, a1, strava, rule="downhill_novel", severity="high",
                                           sources=["strava"], days_ago=3)
    hidden = add_run(s, a1, datetime.now(UTC) - timedelta(days=5), 25.0, private=True)
    ids["private finding a1"] = add_finding(s, a1, hidden, rule="weekly_jump", severity="high",
                                            sources=["upload"], days_ago=5)
    for owner, kw in (("A", {"athlete_id": ids["athlete A"]}),
                      ("B", {"athlete_id": ids["athlete B"]}),
                      ("club A", {"club_id": ids["club A"]}),
                      ("integrator", {})):
        # Rows directly: creating through the API would resolve the host (no network in tests).
        ep = Endpoint(url="http://127.0.0.1:9/hook", event_types=["finding.created"],
                      secret_enc=runtime.box.encrypt("whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="),
                      owner_key_id=integrator_key_id if owner == "integrator" else None,
                      integrator_id=ids["integrator"] if owner == "integrator" else None, **kw)
        s.add(ep)
        s.flush()
        d = Delivery(channel="webhook", dedupe_key=f"test:{ep.id}", target=ep.id,
                     event_type="finding.created", payload={}, status="sent")
        s.add(d)
        s.flush()
        ids[f"message {owner}"] = d.id
        ids[f"endpoint {owner}"] = ep.id
