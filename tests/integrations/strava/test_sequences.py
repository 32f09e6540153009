"""Hypothesis: any sequence of create/update/delete/deauthorize events, delivered with duplicates
and in any order, leaves exactly what Strava still has (or nothing after a deauthorization)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.models import Activity, Connection, Delivery, Finding, InboundEvent, RawFile
from tests.conftest import _clean

from .conftest import connect

# Two activity slots (the third is a manual entry); "deliver" often, so events arrive between
# changes; deauthorization rarely, or it would end most sequences early.
OPS = st.lists(st.tuples(st.sampled_from(["create", "create", "deliver", "deliver", "title",
                                          "private", "public", "delete", "deauth"]),
                         st.integers(0, 2)), min_size=2, max_size=12)


class Runner:
    """The runner changing things on (fake) Strava; each change queues the event Strava sends."""

    def __init__(self, fake, athlete: int) -> None:
        self.fake, self.athlete, self.ids = fake, athlete, {}
        self.pending: list[dict] = []
        self.sent: list[dict] = []
        self.deauthorized = False
        self.t0 = int(datetime.now(UTC).timestamp()) - 100
        self.start = datetime.now(UTC) - timedelta(hours=5)

    def change(self, n: int, op: str, slot: int) -> None:
        if op == "deauth":
            self.fake.deauthorize_athlete(self.athlete)
            self.deauthorized = True
            return self._queue("athlete", self.athlete, "update", {"authorized": "false"}, n)
        if op == "create" and slot not in self.ids:
            self.ids[slot] = self.fake.add_activity(
                self.athlete, self.start + timedelta(hours=slot), 3000.0 + 1000 * slot,
                manual=slot == 2, climb_m=10)
            return self._queue("activity", self.ids[slot], "create", {}, n)
        aid = self.ids.get(slot)
        if aid is None or aid not in self.fake.activities:
            return None
        if op == "delete":
            self.fake.delete_activity(aid)
            return self._queue("activity", aid, "delete", {}, n)
        if op == "title":
            self.fake.update_activity(aid, name=f"Run {n}")
            return self._queue("activity", aid, "update", {"title": f"Run {n}"}, n)
        self.fake.update_activity(aid, private=op == "private")
        return self._queue("activity", aid, "update",
                           {"private": "true" if op == "private" else "false"}, n)

    def _queue(self, kind: str, oid: int, aspect: str, updates: dict, n: int) -> None:
        self.pending.append(dict(object_type=kind, object_id=oid, aspect_type=aspect,
                                 updates=updates, event_time=self.t0 + n))

    def deliver(self, events: list[dict]) -> None:
        for ev in events:
            resp = self.fake.send_event(ev["object_type"], ev["object_id"], ev["aspect_type"],
                                        self.athlete, ev["updates"], event_time=ev["event_time"])
            assert resp.status_code == 200
            self.sent.append(ev)
            if ev in self.pending:
                self.pending.remove(ev)


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS, data=st.data())
def test_any_order_with_duplicates_keeps_the_invariants(runtime, fake, live, ops, data):
    _clean(runtime)
    fake.subscription = None
    fake.set_usage("read", 0, 0)  # one fake serves every example: its budgets must not run out
    fake.set_usage("overall", 0, 0)
    token = _reissue(runtime)
    strava_athlete = fake.add_athlete()
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    assert connect(live, fake, token, strava_athlete).status_code == 200
    runtime.queue.drain()
    with runtime.db.session() as s:
        athlete_id = s.scalar(select(Connection.athlete_id))
    runner = Runner(fake, strava_athlete)
    for n, (op, k) in enumerate(ops):
        if runner.deauthorized:
            break  # Strava sends nothing more once the app is removed
        if op == "deliver":  # some queued events arrive now, late and in any order
            runner.deliver(data.draw(st.permutations(runner.pending))[:k + 1])
            runtime.queue.drain()
        else:
            runner.change(n, op, k)
    # the rest arrive, shuffled, with a few repeats of anything already sent
    dupes = data.draw(st.lists(st.sampled_from(runner.sent), max_size=3)) if runner.sent else []
    runner.deliver(data.draw(st.permutations(runner.pending + dupes)))
    runtime.queue.drain()
    with runtime.db.session() as s:
        rows = s.scalars(select(Activity).where(Activity.source == "strava")).all()
        if runner.deauthorized:
            _assert_nothing_left(s, athlete_id, rows)
            return
        stored = {int(r.provider_activity_id): r for r in rows}
        assert len(stored) == len(rows)  # never two rows for one activity
        alive = {aid for aid in runner.ids.values() if aid in fake.activities}
        assert set(stored) == alive  # deleted ones gone, live ones present (every op sent one)
        for aid, row in stored.items():
            assert row.private == fake.activities[aid]["private"]
            assert row.name == fake.activities[aid]["name"]


def _assert_nothing_left(s, athlete_id: str, rows) -> None:
    assert rows == []
    assert s.scalars(select(Connection)).all() == []
    assert all("strava" not in (f.sources or []) for f in s.scalars(select(Finding)))
    assert s.scalars(select(RawFile).where(RawFile.source == "strava")).all() == []
    assert s.scalars(select(Delivery).where(Delivery.status == "pending",
                                            Delivery.channel == "strava_note")).all() == []
    kinds = [e.kind for e in s.scalars(select(InboundEvent))]
    assert kinds == ["athlete.deauthorize"]


def _reissue(runtime) -> str:
    from service.domain import accounts

    return accounts.add_athlete(runtime, "runner@example.com")[1]
