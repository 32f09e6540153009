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

OPS = st.lists(st.tuples(st.sampled_from(["create", "title", "private", "public", "delete",
                                          "deauth"]), st.integers(0, 2)), min_size=1, max_size=8)


def _apply(fake, athlete: int, ops) -> tuple[list[dict], dict[int, int], bool]:
    """Change the fake as the runner would; return the events Strava would send (in the order
    the changes happened), slot -> activity id, and whether the athlete deauthorized."""
    events, ids, t0 = [], {}, int(datetime.now(UTC).timestamp()) - 100
    start = datetime.now(UTC) - timedelta(hours=5)
    for n, (op, slot) in enumerate(ops):
        ev = None
        if op == "deauth":
            fake.deauthorize_athlete(athlete)
            events.append(dict(object_type="athlete", object_id=athlete, aspect_type="update",
                               updates={"authorized": "false"}, event_time=t0 + n))
            return events, ids, True
        if op == "create" and slot not in ids:
            ids[slot] = fake.add_activity(athlete, start + timedelta(hours=slot),
                                          3000.0 + 1000 * slot, manual=slot == 2, climb_m=10)
            ev = ("create", {})
        elif slot in ids and ids[slot] in fake.activities:
            aid = ids[slot]
            if op == "delete":
                fake.delete_activity(aid)
                ev = ("delete", {})
            elif op == "title":
                fake.update_activity(aid, name=f"Run {n}")
                ev = ("update", {"title": f"Run {n}"})
            elif op in ("private", "public"):
                fake.update_activity(aid, private=op == "private")
                ev = ("update", {"private": "true" if op == "private" else "false"})
        if ev:
            events.append(dict(object_type="activity", object_id=ids[slot], aspect_type=ev[0],
                               updates=ev[1], event_time=t0 + n))
    return events, ids, False


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS, data=st.data())
def test_any_order_with_duplicates_keeps_the_invariants(runtime, fake, live, runner, ops, data):
    _clean(runtime)
    fake.subscription = None
    athlete_id, token = runner[0], _reissue(runtime)
    strava_athlete = fake.add_athlete()
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    assert connect(live, fake, token, strava_athlete).status_code == 200
    runtime.queue.drain()
    with runtime.db.session() as s:
        athlete_id = s.scalar(select(Connection.athlete_id))
    events, ids, deauthorized = _apply(fake, strava_athlete, ops)
    dupes = data.draw(st.lists(st.sampled_from(events), max_size=3)) if events else []
    for ev in data.draw(st.permutations(events + dupes)):
        resp = fake.send_event(ev["object_type"], ev["object_id"], ev["aspect_type"],
                               strava_athlete, ev["updates"], event_time=ev["event_time"])
        assert resp.status_code == 200
    runtime.queue.drain()
    with runtime.db.session() as s:
        rows = s.scalars(select(Activity).where(Activity.source == "strava")).all()
        if deauthorized:
            _assert_nothing_left(s, athlete_id, rows)
            return
        stored = {int(r.provider_activity_id): r for r in rows}
        assert len(stored) == len(rows)  # never two rows for one activity
        alive = {aid for aid in ids.values() if aid in fake.activities}
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
    from service import accounts

    return accounts.add_athlete(runtime, "runner@example.com")[1]
