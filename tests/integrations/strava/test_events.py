"""Activity and athlete events: delete, privacy, deauthorization, duplicates and odd orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import func, select

from service.models import Activity, Connection, Delivery, Finding, InboundEvent


def _rows(runtime, provider_id) -> list[Activity]:
    with runtime.db.session() as s:
        return s.scalars(select(Activity).where(
            Activity.provider_activity_id == str(provider_id))).all()


def _count(runtime, model, *where) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _new_run(fake, strava_athlete, km=20.0, **kw) -> int:
    return fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=1),
                             km * 1000.0, climb_m=30.0, **kw)


def test_a_deleted_activity_leaves_no_row_no_finding_and_no_pending_note(runtime, fake,
                                                                         connected):
    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    (act,) = _rows(runtime, run)
    assert _count(runtime, Finding, Finding.activity_id == act.id) >= 1
    fake.delete_activity(run)
    fake.send_event("activity", run, "delete", strava_athlete)
    runtime.queue.drain()
    assert _rows(runtime, run) == []
    assert _count(runtime, Finding, Finding.activity_id == act.id) == 0
    assert _count(runtime, Delivery, Delivery.status == "pending") == 0


def test_delete_before_create_never_resurrects_the_activity(runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete)
    fake.delete_activity(run)  # deleted at Strava: its create and delete arrive afterwards
    t = int(datetime.now(UTC).timestamp())
    fake.send_event("activity", run, "delete", strava_athlete, event_time=t + 5)
    fake.send_event("activity", run, "create", strava_athlete, event_time=t)
    runtime.queue.drain()
    assert _rows(runtime, run) == []


def test_update_before_create_and_duplicates_end_with_one_row(runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete, km=9.0)
    fake.update_activity(run, name="Renamed")
    t = int(datetime.now(UTC).timestamp())
    fake.send_event("activity", run, "update", strava_athlete, {"title": "Renamed"},
                    event_time=t + 1)
    for _ in range(3):  # Strava is seen to send the same event ~3 times
        fake.send_event("activity", run, "create", strava_athlete, event_time=t)
    runtime.queue.drain()
    (act,) = _rows(runtime, run)
    assert act.name == "Renamed"
    assert _count(runtime, InboundEvent, InboundEvent.kind == "activity.create") == 1


def test_private_activity_is_marked_and_its_findings_never_reach_others(runtime, fake,
                                                                        connected):
    from service.domain import policy

    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    fake.update_activity(run, private=True)
    fake.send_event("activity", run, "update", strava_athlete, {"private": "true"})
    runtime.queue.drain()
    (act,) = _rows(runtime, run)
    assert act.private is True
    with runtime.db.session() as s:
        findings = s.scalars(select(Finding).where(Finding.activity_id == act.id)).all()
    assert findings and all(not policy.visible(f.sources, "club") for f in findings)
    assert all(not policy.visible(f.sources, "integrator") for f in findings)


def test_a_type_change_refreshes_the_row(runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete, km=5.0)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    fake.update_activity(run, sport_type="Walk", type="Walk")
    fake.send_event("activity", run, "update", strava_athlete, {"type": "Walk"})
    runtime.queue.drain()
    (act,) = _rows(runtime, run)
    assert act.sport == "walking" and act.metrics["sport"] == "walking"


def test_deauthorization_deletes_tokens_and_all_strava_data_at_once(runtime, fake, connected):
    athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    resp = fake.send_deauthorization(strava_athlete)
    assert resp.status_code == 200
    runtime.queue.drain()
    assert _count(runtime, Connection) == 0
    assert _count(runtime, Activity, Activity.athlete_id == athlete_id) == 0
    assert _count(runtime, Finding, Finding.athlete_id == athlete_id) == 0
    assert _count(runtime, Delivery, Delivery.status == "pending") == 0
    assert _count(runtime, InboundEvent) == 1  # only the deauthorization itself
    # later events for that athlete are acknowledged and dropped
    assert fake.send_event("activity", run, "update", strava_athlete,
                           {"title": "x"}).json() == {"status": "ignored"}


def test_a_forged_deauthorization_for_a_working_token_is_ignored(runtime, fake, connected):
    athlete_id, strava_athlete = connected
    fake.send_event("athlete", strava_athlete, "update", strava_athlete, {"authorized": "false"})
    runtime.queue.drain()
    assert _count(runtime, Connection) == 1
    assert _count(runtime, Activity, Activity.athlete_id == athlete_id) == 8


def test_disconnect_revokes_upstream_and_deletes_everything(runtime, fake, live, connected, runner):
    athlete_id, strava_athlete = connected
    _id, token = runner
    resp = requests.post(f"{live.url}/v1/athletes/{athlete_id}/connections/strava/disconnect",
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert resp.status_code == 200
    body = resp.json()
    assert body["revoked"] == "revoke" and body["deleted"]["activities"] == 8
    assert fake.athletes[strava_athlete]["authorized"] is False
    assert _count(runtime, Connection) == 0 and _count(runtime, Activity) == 0


def test_disconnect_falls_back_to_deauthorize(runtime, fake, live, connected, runner):
    athlete_id, strava_athlete = connected
    fake.revoke_enabled = False
    resp = requests.post(f"{live.url}/v1/athletes/{athlete_id}/connections/strava/disconnect",
                         headers={"Authorization": f"Bearer {runner[1]}"}, timeout=5)
    assert resp.json()["revoked"] == "deauthorize"
    assert fake.athletes[strava_athlete]["authorized"] is False


def test_another_runner_cannot_disconnect_me(runtime, live, connected):
    from service.domain import accounts

    athlete_id, _ = connected
    _other, other_token = accounts.add_athlete(runtime, "other@example.com")
    resp = requests.post(f"{live.url}/v1/athletes/{athlete_id}/connections/strava/disconnect",
                         headers={"Authorization": f"Bearer {other_token}"}, timeout=5)
    assert resp.status_code == 404 and _count(runtime, Connection) == 1


def test_a_429_reschedules_the_event_and_the_governor_remembers_the_budget(runtime, fake,
                                                                          connected):
    from service.integrations.strava import connection as svc

    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete)
    fake.force_429(1)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    with runtime.db.session() as s:
        event = s.scalar(select(InboundEvent).where(InboundEvent.kind == "activity.create"))
        assert event.status == "received" and event.attempts == 1
        wait = (event.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 15 * 60 + 1  # to the next quarter hour
    state = svc.rate_state(runtime)
    assert state is not None and state.read.usage_short == fake.usage["read"][0]


def test_live_work_waits_when_the_budget_is_spent(runtime, fake, connected):
    from service.integrations.strava import connection as svc

    _athlete_id, strava_athlete = connected
    fake.set_usage("read", 100, 500)  # the 15-minute read budget is gone
    fake.send_event("activity", _new_run(fake, strava_athlete), "create", strava_athlete)
    runtime.queue.drain()  # the first call sees the headers, later ones do not go out
    assert svc.wait_seconds(runtime, "live") > 0
    calls = fake.count(None, "/api/v3/")
    fake.send_event("activity", _new_run(fake, strava_athlete, km=3), "create", strava_athlete)
    runtime.queue.drain()
    assert fake.count(None, "/api/v3/") == calls


def test_a_confirmed_delete_is_respected_even_if_strava_serves_the_activity_again(runtime,
                                                                                 fake, connected):
    _athlete_id, strava_athlete = connected
    run = _new_run(fake, strava_athlete)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    assert len(_rows(runtime, run)) == 1
    stored = dict(fake.activities[run])
    fake.delete_activity(run)
    fake.send_event("activity", run, "delete", strava_athlete)
    runtime.queue.drain()
    fake.activities[run] = stored  # a stale replica answers for it again; a late create arrives
    fake.send_event("activity", run, "create", strava_athlete, event_time=1)
    fake.send_event("activity", run, "update", strava_athlete, {"title": "late"})
    runtime.queue.drain()
    assert _rows(runtime, run) == []
