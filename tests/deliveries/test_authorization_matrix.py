"""Who receives what: every event type × every kind of endpoint × every source, planned by the
real code and sent by the deliver job to a receiver that verifies each message.

Columns (one endpoint each, all subscribed to every event type):
  own     the athlete's own endpoint                  club:<scope>  a club the athlete shares <scope> with
  club:all  a club with every consent scope            withdrawn     a club the athlete left
  int+    an integrator the athlete shares every scope with (int- : the same, about an athlete
          who shares nothing with it)
  int:findings  an integrator the athlete shares only `findings` with
  int:other     an integrator on the same deployment the athlete never chose
  operator  the operator's endpoint (`kneeguard endpoints add`): no consent, source policy only
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from service.domain import clubs, deliveries, integrators
from service.domain import endpoints as svc
from service.domain.findings import analyzed_data
from service.infra import jobs
from service.infra.loopback import free_port
from service.models import Activity, Athlete, Connection, Delivery, Finding, utcnow
from testkit.receiver import Receiver
from workers.notify.catalog import event_types

COLUMNS = ("own", "club:findings", "club:distance", "club:descent", "club:routes", "club:all",
           "withdrawn", "int+", "int-", "int:findings", "int:other", "operator")
SHARED = {"own", "club:findings", "club:all", "int+", "int:findings", "operator"}
CONNECTION = {"own", "club:findings", "club:distance", "club:descent", "club:routes", "club:all",
              "int+", "int:findings", "operator"}
ONLY_OWNER = {"own"}
NA = None  # the event cannot come from this source (an upload is no provider connection)

# event type → {source: the columns that receive it}
MATRIX: dict[str, dict[str, set[str] | None]] = {
    "finding.created":      {"upload": SHARED, "garmin": SHARED, "strava": ONLY_OWNER},
    "finding.withdrawn":    {"upload": SHARED, "garmin": SHARED, "strava": ONLY_OWNER},
    "activity.analyzed":    {"upload": {"own", "club:all", "int+", "operator"},
                             "garmin": {"own", "club:all", "int+", "operator"},
                             "strava": ONLY_OWNER},
    "athlete.connected":    {"upload": NA, "garmin": CONNECTION, "strava": ONLY_OWNER},
    "athlete.disconnected": {"upload": NA, "garmin": CONNECTION, "strava": ONLY_OWNER},
}
CASES = [(e, src, cols) for e, row in MATRIX.items() for src, cols in row.items() if cols is not NA]


def test_the_matrix_covers_every_athlete_event_in_the_catalog():
    assert set(MATRIX) == set(event_types()) - {"endpoint.test"}


class World:
    """Two athletes (one consents to integrators) in the same clubs, and one endpoint per column."""

    def __init__(self, runtime, rx: Receiver) -> None:
        self.rt, self.rx = runtime, rx
        self.endpoints: dict[str, str] = {}  # column → endpoint id (own: per athlete)
        with runtime.db.session() as s:
            self.consenting = self._athlete(s, "yes@example.com")
            self.refusing = self._athlete(s, "no@example.com")
            for scope in ("findings", "distance", "descent", "routes"):
                self._club(s, f"club:{scope}", [scope])
            self._club(s, "club:all", list(clubs.CONSENT_SCOPES))
            self._club(s, "withdrawn", list(clubs.CONSENT_SCOPES), withdraw=True)
            for column, name, scopes in (("integrator", "acme", list(integrators.SCOPES)),
                                         ("int:findings", "findings only", ["findings"]),
                                         ("int:other", "never chosen", None)):
                key, _ = clubs.issue_key(s, "integrator", name, ["read", "admin"])
                self._endpoint(s, column, owner_key_id=key.id, integrator_id=key.integrator_id)
                if scopes:
                    integrators.set_scopes(s, self.consenting, key.integrator_id, scopes)
            self._endpoint(s, "operator")
            for who in (self.consenting, self.refusing):
                self._endpoint(s, f"own:{who}", athlete_id=who)

    def _athlete(self, s, email: str) -> str:
        a = Athlete(email=email, preferences={"email": False})
        s.add(a)
        s.flush()
        return a.id

    def _club(self, s, column: str, scope: list[str], withdraw: bool = False) -> None:
        club = clubs.create_club(s, column)
        invite, _ = clubs.create_invite(s, club.id)
        for who in (self.consenting, self.refusing):
            clubs.accept_invite(s, invite, who, scope)
            if withdraw:
                clubs.withdraw(s, club.id, who)
        self._endpoint(s, column, club_id=club.id)

    def _endpoint(self, s, column: str, owner_key_id: str | None = None,
                  integrator_id: str | None = None, **owner) -> None:
        path = "/" + column.replace(":", "-")
        ep, secret = svc.create(s, self.rt.box, url=self.rx_url(path), events=event_types(),
                                allow_loopback=True, **owner)
        ep.owner_key_id, ep.integrator_id = owner_key_id, integrator_id
        self.rx.path_secrets[path] = secret
        self.endpoints[column] = ep.id

    def rx_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.rx.port}{path}"

    def receivers_of(self, athlete_id: str) -> set[str]:
        """The columns whose endpoint received a verified message about this athlete."""
        got = set()
        for column in self.endpoints:
            path = "/" + column.replace(":", "-")
            if any(m["data"].get("athlete_id") == athlete_id for m in self.rx.by_path.get(path, [])):
                got.add("own" if column.startswith("own:") else column)
        return got


def fire(world: World, s, event_type: str, source: str, athlete_id: str) -> list[Delivery]:
    """Make the event happen for this athlete, through the planning code the jobs use."""
    day = date.today() - timedelta(days=1)
    act = Activity(athlete_id=athlete_id, source=source, start_time=datetime.combine(
        day, datetime.min.time()).replace(tzinfo=utcnow().tzinfo), sport="running",
        distance_m=10000.0, moving_time_s=3000.0, loss_m=120.0, status="analyzed",
        provider_activity_id=f"{source}-{athlete_id}" if source != "upload" else None)
    s.add(act)
    s.flush()
    if event_type.startswith("athlete."):
        conn = Connection(athlete_id=athlete_id, provider=source, provider_user_id=athlete_id,
                          details={"connected_at": utcnow().isoformat()})
        s.add(conn)
        s.flush()
        return deliveries.plan_connection_event(s, conn, event_type, reason="user_request")
    if event_type == "activity.analyzed":
        return deliveries.plan_event(s, athlete_id, event_type, analyzed_data(act, []), act.id)
    f = Finding(athlete_id=athlete_id, activity_id=act.id, subject=act.id, rule="single_run_spike",
                date=day, severity="caution", value=1.8, threshold=1.5, message="m",
                evidence={}, sources=[source])
    s.add(f)
    s.flush()
    planned = deliveries.plan_findings(s, s.get(Athlete, athlete_id), [f])
    if event_type == "finding.created":
        return planned
    for d in planned:  # announced earlier; now a re-analysis no longer supports it
        d.status, d.attempt_count = "sent", 1
    return deliveries.plan_withdrawn(s, [f])


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(webhook_allow_loopback=True)


@pytest.fixture
def world(runtime):
    with Receiver("127.0.0.1", free_port()) as rx:
        yield World(runtime, rx)


@pytest.mark.parametrize("event_type, source, expected", CASES,
                         ids=[f"{e}-{src}" for e, src, _ in CASES])
def test_who_receives_each_event(runtime, world, event_type, source, expected):
    with runtime.db.session() as s:
        planned = [d for who in (world.consenting, world.refusing)
                   for d in fire(world, s, event_type, source, who)]
        s.flush()
        ids = [d.id for d in planned if d.event_type == event_type and d.channel == "webhook"]
    for message_id in ids:
        jobs.deliver(runtime, message_id)
    runtime.queue.drain()
    about_consenting = world.receivers_of(world.consenting)
    about_refusing = world.receivers_of(world.refusing)
    got = {c for c in about_consenting if c != "integrator"}
    got |= {"int+"} if "integrator" in about_consenting else set()
    got |= {"int-"} if "integrator" in about_refusing else set()
    assert got == expected
    # The athlete who chose no integrator: the same but for every integrator column.
    assert about_refusing - {"integrator"} == expected - {"int+", "int-", "int:findings"}
    # an integrator's copy carries its reference for the runner (none here: no connect link)
    for path in ("/integrator", "/int-findings"):
        assert all(m["data"]["integrator_ref"] is None for m in world.rx.by_path.get(path, []))
    own = [m for path, ms in world.rx.by_path.items() if path.startswith("/own-") for m in ms]
    assert own and all("integrator_ref" not in m["data"] for m in own)
    assert all(m["type"] == event_type for ms in world.rx.by_path.values() for m in ms)
