"""Connect once, then every new run is pulled, analysed, and the warning lands in its description."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import func, select

from service.integrations.strava.note import BEGIN, END
from service.models import Activity, Athlete, Connection, Delivery, Finding, InboundEvent

from .conftest import add_history, connect


def _count(runtime, model, *where) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_connect_stores_encrypted_tokens_and_backfills_history(runtime, fake, live, runner):
    athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    add_history(fake, strava_athlete, runs=8)
    old = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(days=45), 8000.0)
    resp = connect(live, fake, token, strava_athlete)
    assert resp.status_code == 200, resp.text
    assert resp.json()["note"] is True
    runtime.queue.drain()
    with runtime.db.session() as s:
        conn = s.scalar(select(Connection).where(Connection.athlete_id == athlete_id))
        assert conn.provider_user_id == str(strava_athlete)
        assert "activity:read_all" in conn.scopes and "activity:write" in conn.scopes
        stored = [t for t in fake.access_tokens] + [t for t in fake.refresh_tokens]
        assert all(t not in (conn.access_token_enc + conn.refresh_token_enc) for t in stored)
        rows = s.scalars(select(Activity).where(Activity.athlete_id == athlete_id)).all()
        assert len(rows) == 9 and {r.status for r in rows} == {"history"}
        assert all(r.expires_at is not None for r in rows)
        by_id = {r.provider_activity_id: r for r in rows}
        # older than the stream window: a summary only, so no terrain from it
        assert by_id[str(old)].metrics["elevation"]["altitude_source"] == "none"
        assert s.get(Athlete, athlete_id).note_writeback is True
    streams = fake.count("GET", "/api/v3/activities/")
    assert fake.count("GET", "/api/v3/athlete/activities") == 1
    assert streams == 8  # the 8 recent runs' streams, not the 45-day-old one


def test_a_new_long_run_gets_a_warning_note_in_its_description(runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    long_run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=2),
                                 20_000.0, description="Felt strong today", climb_m=30.0)
    fake.reset_calls()
    resp = fake.send_event("activity", long_run, "create", strava_athlete)
    assert resp.status_code == 200 and resp.json() == {"status": "accepted"}
    runtime.queue.drain()

    with runtime.db.session() as s:
        act = s.scalar(select(Activity).where(Activity.provider_activity_id == str(long_run)))
        assert act.status == "analyzed" and act.source == "strava"
        rules = {f.rule: f for f in s.scalars(select(Finding).where(Finding.activity_id == act.id))}
        note = s.scalar(select(Delivery).where(Delivery.channel == "strava_note"))
        assert note is not None and note.status == "sent"
    assert "single_run_spike" in rules
    description = fake.activities[long_run]["description"]
    assert description.startswith("Felt strong today\n\n" + BEGIN)
    assert END in description and "Longer than this runner's recent runs." in description
    assert "single_run_spike" in rules
    assert fake.last_put_content_type == "application/json"
    # get activity + streams for the run, get + put for the note
    assert fake.count(None, "/api/v3/") == 4


def test_the_note_is_not_written_when_the_runner_did_not_choose_it(runtime, fake, live, runner):
    _athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    add_history(fake, strava_athlete, runs=8, km=10.0)
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    assert connect(live, fake, token, strava_athlete, note=False).json()["note"] is False
    runtime.queue.drain()
    long_run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=2), 20_000.0)
    fake.send_event("activity", long_run, "create", strava_athlete)
    runtime.queue.drain()
    assert _count(runtime, Finding, Finding.rule == "single_run_spike") == 1
    assert _count(runtime, Delivery, Delivery.channel == "strava_note") == 0
    assert fake.activities[long_run]["description"] is None


def test_without_the_write_scope_the_note_is_off_even_if_asked(runtime, fake, live, runner):
    _athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    resp = connect(live, fake, token, strava_athlete, grant="activity:read_all")
    assert resp.status_code == 200 and resp.json()["note"] is False


def test_without_read_all_the_connection_is_refused_and_the_grant_revoked(runtime, fake, live,
                                                                           runner):
    _athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    resp = connect(live, fake, token, strava_athlete, grant="activity:write")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "insufficient_scope"
    assert _count(runtime, Connection) == 0
    assert fake.athletes[strava_athlete]["authorized"] is False


def test_a_state_cannot_be_replayed_or_forged(runtime, fake, live, runner):
    _athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    browser = requests.Session()
    start = browser.get(f"{live.url}/connect/strava", allow_redirects=False, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})
    params = fake.authorize(start.headers["Location"], athlete=strava_athlete)
    first = browser.get(f"{live.url}/connect/strava/callback", params=params, timeout=5)
    again = browser.get(f"{live.url}/connect/strava/callback", params=params, timeout=5)
    forged = browser.get(f"{live.url}/connect/strava/callback",
                         params={**params, "state": "forged"}, timeout=5)
    assert first.status_code == 200
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_state"
    assert forged.status_code == 400
    assert fake.token_calls["authorization_code"] == 1


def test_connect_refuses_a_wrong_bearer_token(live):
    resp = requests.get(f"{live.url}/connect/strava", headers={"Authorization": "Bearer nope"},
                        allow_redirects=False, timeout=5)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


def test_events_for_unknown_athletes_are_acknowledged_and_dropped(runtime, fake, live):
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    resp = fake.send_event("activity", 123, "create", 999)
    assert resp.status_code == 200 and resp.json() == {"status": "ignored"}
    assert _count(runtime, InboundEvent) == 0
    assert fake.count(None, "/api/v3/") == 0


def test_a_note_whose_warning_no_longer_holds_is_taken_back_off(runtime, fake, connected):
    """A longer run from another source arrives for an earlier day: the spike no longer holds,
    so the re-analysis removes our block from the description (and keeps the runner's text)."""
    from service.domain import activities
    from service.infra import sweeper
    from testkit.synthetic import run_track

    athlete_id, strava_athlete = connected
    with runtime.db.session() as s:  # a bigger usual week (10 km a day, 8 to 35 days ago), so the
        # long run's rolling week is no jump on any weekday: this test is about the spike alone
        for day in range(8, 36):
            activities.store_track(s, athlete_id, run_track(
                datetime.now(UTC) - timedelta(days=day, hours=3), 10.0), "upload", f"base{day}.fit")
    long_run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=2),
                                 20_000.0, description="Felt strong today", climb_m=30.0)
    fake.send_event("activity", long_run, "create", strava_athlete)
    runtime.queue.drain()
    assert BEGIN in fake.activities[long_run]["description"]
    assert "bigger week" not in fake.activities[long_run]["description"]

    with runtime.db.session() as s:  # a 25 km run uploaded from a watch file, 5 days earlier
        activities.store_track(s, athlete_id, run_track(datetime.now(UTC) - timedelta(days=5),
                                                        25.0), "upload", "watch.fit")
        act = s.scalar(select(Activity).where(Activity.provider_activity_id == str(long_run)))
        act.status = "parsed"  # what reanalysis marks; the sweeper picks it up
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert fake.activities[long_run]["description"] == "Felt strong today"
