"""Item 5 (Strava): pushes are unsigned, so a forged delete or deauthorization must destroy nothing.

Anyone who knows /webhooks/strava can POST the documented event shape. The service confirms with
Strava (the owner's token) before any destructive effect and checks the subscription id it created.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from service.models import Activity, Connection, InboundEvent

from .conftest import VERIFY_TOKEN

OUR_SUBSCRIPTION = 120475  # what `kneeguard strava subscribe` printed, configured by the operator


@pytest.fixture
def settings(base_settings, fake, port):
    return base_settings.with_overrides(
        strava_client_id=fake.client_id, strava_client_secret=fake.client_secret,
        strava_verify_token=VERIFY_TOKEN, strava_api_url=fake.api_url,
        strava_oauth_url=fake.oauth_url, public_url=f"http://127.0.0.1:{port}",
        strava_subscription_id=OUR_SUBSCRIPTION)


@pytest.fixture(autouse=True)
def _our_subscription(fake, connected):
    fake.subscription["id"] = OUR_SUBSCRIPTION  # Strava's events name the subscription we made


def _forge(live, owner: int, object_id: int, aspect: str, *, object_type: str = "activity",
           subscription_id: int = OUR_SUBSCRIPTION, updates: dict | None = None,
           event_time: int | None = None) -> requests.Response:
    """What an attacker sends: the documented body, no signature (Strava signs nothing)."""
    body = {"aspect_type": aspect,
            "event_time": event_time or int(datetime.now(UTC).timestamp()),
            "object_id": object_id, "object_type": object_type, "owner_id": owner,
            "subscription_id": subscription_id, "updates": updates or {}}
    return requests.post(f"{live.url}/webhooks/strava", json=body, timeout=5)


def _activities(runtime, provider_id) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(Activity).where(
            Activity.provider_activity_id == str(provider_id)))


def _stored_run(runtime, fake, strava_athlete) -> int:
    run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=2), 12_000.0,
                            climb_m=40.0)
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    assert _activities(runtime, run) == 1
    return run


def test_a_forged_delete_of_an_activity_strava_still_serves_deletes_nothing(runtime, fake, live,
                                                                          connected):
    _athlete_id, strava_athlete = connected
    run = _stored_run(runtime, fake, strava_athlete)
    assert _forge(live, strava_athlete, run, "delete").status_code == 200
    runtime.queue.drain()
    assert _activities(runtime, run) == 1
    # and no tombstone: an ordinary update later is still applied
    fake.update_activity(run, name="Still here")
    fake.send_event("activity", run, "update", strava_athlete, {"title": "Still here"})
    runtime.queue.drain()
    with runtime.db.session() as s:
        assert s.scalar(select(Activity.name).where(
            Activity.provider_activity_id == str(run))) == "Still here"


def test_a_forged_delete_for_a_future_id_leaves_no_tombstone(runtime, fake, live, connected):
    _athlete_id, strava_athlete = connected
    future = fake._next_id + 1  # the id Strava will give the runner's next activity
    assert _forge(live, strava_athlete, future, "delete").status_code == 200
    runtime.queue.drain()
    run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=1), 8_000.0)
    assert run == future
    fake.send_event("activity", run, "create", strava_athlete)
    runtime.queue.drain()
    assert _activities(runtime, run) == 1


def test_a_real_delete_confirmed_by_strava_still_deletes(runtime, fake, live, connected):
    _athlete_id, strava_athlete = connected
    run = _stored_run(runtime, fake, strava_athlete)
    fake.delete_activity(run)  # Strava answers 404 now
    fake.send_event("activity", run, "delete", strava_athlete)
    runtime.queue.drain()
    assert _activities(runtime, run) == 0


def test_a_forged_delete_sent_ahead_cannot_swallow_the_real_one(runtime, fake, live, connected):
    """The dedupe key has no secret in it: forge the real event's key early, get it dropped."""
    _athlete_id, strava_athlete = connected
    run = _stored_run(runtime, fake, strava_athlete)
    later = int(datetime.now(UTC).timestamp()) + 60
    assert _forge(live, strava_athlete, run, "delete", event_time=later).status_code == 200
    runtime.queue.drain()
    assert _activities(runtime, run) == 1  # unconfirmed: dropped
    fake.delete_activity(run)  # the runner really deletes it; Strava's event has that same key
    fake.send_event("activity", run, "delete", strava_athlete, event_time=later)
    runtime.queue.drain()
    assert _activities(runtime, run) == 0


def test_a_forged_deauthorization_during_a_strava_outage_purges_nothing(runtime, fake, live,
                                                                        connected):
    athlete_id, strava_athlete = connected
    run = _stored_run(runtime, fake, strava_athlete)
    fake.force_outage(50)  # Strava answers 503: that confirms nothing
    assert _forge(live, strava_athlete, strava_athlete, "update", object_type="athlete",
                  updates={"authorized": "false"}).status_code == 200
    runtime.queue.drain()
    with runtime.db.session() as s:
        conn = s.scalar(select(Connection).where(Connection.athlete_id == athlete_id))
        assert conn is not None and conn.status == "active" and conn.access_token_enc
        event = s.scalar(select(InboundEvent).where(InboundEvent.kind == "athlete.deauthorize"))
        assert event.status == "received" and event.attempts == 1  # retried later, not decided
    assert _activities(runtime, run) == 1


def test_events_for_another_subscription_are_ignored(runtime, fake, live, connected):
    _athlete_id, strava_athlete = connected
    run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=1), 9_000.0)
    answer = _forge(live, strava_athlete, run, "create", subscription_id=OUR_SUBSCRIPTION + 1)
    assert answer.status_code == 200 and answer.json() == {"status": "ignored"}
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundEvent).where(
            InboundEvent.kind == "activity.create")) == 0
    fake.send_event("activity", run, "create", strava_athlete)  # ours: accepted
    runtime.queue.drain()
    assert _activities(runtime, run) == 1
