"""Garmin outside the happy path, as Garmin's documents describe it (issue 16): 403 and 412,
ordering of pings against permission changes, history after a deregistration and reconnect, and
refresh tokens that die of age. The fake answers as quoted in
service/integrations/garmin/fake/documents.py."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from service.infra import sweeper
from service.integrations.garmin import status as gst
from service.integrations.garmin.fake.provider import ALL_PERMISSIONS
from service.models import Activity, Connection, Delivery, InboundEvent, utcnow
from tests.integrations.garmin.conftest import connect, connection
from workers.ingest import process_event

ROAD_RUN = "msimms__20210507_run_garmin_fenix_6.fit"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
DAY = 86400


def _runs(runtime) -> list[Activity]:
    with runtime.db.session() as s:
        return list(s.scalars(select(Activity).where(Activity.source == "garmin")))


def _events(runtime, kind: str) -> list[InboundEvent]:
    with runtime.db.session() as s:
        return list(s.scalars(select(InboundEvent).where(InboundEvent.kind == kind)
                              .order_by(InboundEvent.received_at)))


def _recent_run(fake, user, days_ago: int = 5):
    return fake.add_activity(user, ROAD_RUN,
                             summary={"startTimeInSeconds": int(time.time()) - days_ago * DAY})


def _api_view(client, athlete) -> dict:
    resp = client.get(f"/v1/athletes/{athlete[0]}/connections/garmin",
                      headers={"Authorization": f"Bearer {athlete[1]}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# -- 403: the user removed our access in Garmin Connect -------------------------------------------


def test_a_403_revokes_the_connection_and_emails_the_runner(client, fake, live, runtime, athlete,
                                                            garmin_user, settings):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    fake.revoke_user(garmin_user)  # its deregistration notification is lost: never delivered
    assert fake.send_activity_files_ping(garmin_user, [run]).status == 200
    runtime.queue.drain()
    assert fake.calls_to("/wellness-api/rest/activityFile")[-1].status == 403
    conn = connection(runtime, garmin_user)
    assert conn.status == "revoked" and conn.status_reason == gst.REVOKED_403
    assert conn.refresh_token_enc is None
    [event] = _events(runtime, "activity_file")
    assert event.status == "dropped"
    with runtime.db.session() as s:
        [notice] = s.scalars(select(Delivery).where(Delivery.event_type == "connection.revoked"))
        assert (notice.status, notice.target) == ("sent", "runner@example.com")
    [mail] = Path(settings.email_outbox_dir).glob("*.eml")
    text = mail.read_text()
    assert "your Garmin connection stopped" in text and "HTTP 403" in text
    assert _api_view(client, athlete)["status_reason"] == gst.REVOKED_403


def test_the_runner_sees_why_on_their_page(client, fake, live, runtime, athlete):
    user = fake.add_user()
    assert connect(client, fake, athlete[1], user).status_code == 200  # signs the browser in
    runtime.queue.drain()
    run = fake.add_activity(user, ROAD_RUN)
    fake.revoke_user(user)
    fake.send_activity_files_ping(user, [run])
    runtime.queue.drain()
    page = client.get("/me", headers=BROWSER)
    assert page.status_code == 200
    assert "consent withdrawn in Garmin Connect" in page.get_data(as_text=True)


# -- 412: a permission is off; the token still works -------------------------------------------------


def test_a_412_pauses_ingestion_with_a_reason_and_resumes_when_sharing_returns(
        client, fake, live, runtime, athlete, garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    fake.users[garmin_user].permissions = {"HEALTH_EXPORT"}  # its notification is still on the way
    fake.send_activity_files_ping(garmin_user, [run])
    runtime.queue.drain()
    assert fake.calls_to("/wellness-api/rest/activityFile")[-1].status == 412
    conn = connection(runtime, garmin_user)
    assert (conn.status, conn.status_reason) == ("disabled", gst.PAUSED_412)
    assert conn.refresh_token_enc is not None  # "the user's access token will still be valid"
    [event] = _events(runtime, "activity_file")
    assert event.status == "paused"
    assert _api_view(client, athlete)["status_reason"] == gst.PAUSED_412
    fake.send_permissions_change(garmin_user, set(ALL_PERMISSIONS))
    runtime.queue.drain()
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert [r.provider_activity_id for r in _runs(runtime)] == [str(run.activity_id)]
    assert connection(runtime, garmin_user).status_reason is None


# -- ordering: judged when the job runs, never swallowed by a dedupe row ------------------------------


def test_a_ping_arriving_just_after_sharing_is_back_on_is_kept(fake, live, runtime, garmin_user):
    fake.send_permissions_change(garmin_user, {"HEALTH_EXPORT"})
    runtime.queue.drain()
    run = fake.add_activity(garmin_user, ROAD_RUN)
    fake.send_permissions_change(garmin_user, set(ALL_PERMISSIONS))  # not processed yet...
    assert fake.send_activity_files_ping(garmin_user, [run]).status == 200  # ...when this comes
    runtime.queue.drain()
    assert [r.provider_activity_id for r in _runs(runtime)] == [str(run.activity_id)]


def test_a_ping_processed_before_the_permission_change_waits_for_it(fake, live, runtime,
                                                                    garmin_user):
    fake.send_permissions_change(garmin_user, {"HEALTH_EXPORT"})
    runtime.queue.drain()
    run = fake.add_activity(garmin_user, ROAD_RUN)
    fake.send_permissions_change(garmin_user, set(ALL_PERMISSIONS))
    fake.send_activity_files_ping(garmin_user, [run])
    [ping] = _events(runtime, "activity_file")
    process_event(ping.id)  # a second worker takes the ping first
    assert _events(runtime, "activity_file")[0].status == "paused"
    runtime.queue.drain()  # the permission change, then the sweeper re-queues the ping
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert [r.provider_activity_id for r in _runs(runtime)] == [str(run.activity_id)]


def test_a_dropped_notification_does_not_swallow_garmins_resend(client, fake, live, runtime,
                                                                athlete, garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    with runtime.db.session() as s:  # revoked at the moment the ping is processed
        s.scalar(select(Connection).where(Connection.provider_user_id == garmin_user)).status = (
            "revoked")
    body = fake.activity_files_body([run])
    fake.send("activityFiles", body)
    runtime.queue.drain()
    assert [e.status for e in _events(runtime, "activity_file")] == ["dropped"]
    assert connect(client, fake, athlete[1], garmin_user).status_code == 200
    assert fake.send("activityFiles", body).status == 200  # Garmin sends the same one again
    runtime.queue.drain()
    assert [r.provider_activity_id for r in _runs(runtime)] == [str(run.activity_id)]


# -- deregistration purge, then reconnect: history ---------------------------------------------------


def _deregister_and_reconnect(client, fake, runtime, athlete, user) -> None:
    fake.revoke_user(user)
    assert [d.status for d in fake.deliver_pending()] == [200]
    runtime.queue.drain()
    assert _runs(runtime) == [] and _events(runtime, "activity_file") == []  # purged, keys too
    assert connect(client, fake, athlete[1], user).status_code == 200
    runtime.queue.drain()  # the new connect's backfill


def test_history_comes_back_after_a_deregistration_purge_and_reconnect(client, fake, live,
                                                                       runtime, athlete):
    user = fake.add_user()
    run = _recent_run(fake, user)
    assert connect(client, fake, athlete[1], user).status_code == 200
    runtime.queue.drain()
    fake.deliver_pending()
    runtime.queue.drain()
    assert len(_runs(runtime)) == 1
    _deregister_and_reconnect(client, fake, runtime, athlete, user)
    backfills = [c.status for c in fake.calls_to("/wellness-api/rest/backfill/activities")]
    assert backfills == [202] * 6  # three chunks per connect, none repeating the first three
    fake.deliver_pending()
    runtime.queue.drain()
    assert [r.provider_activity_id for r in _runs(runtime)] == [str(run.activity_id)]
    history = _api_view(client, athlete)["history"]
    assert history["status"] == "requested" and history["refused"] == []
    assert "1 Garmin runs stored" in history["text"] and "Not recovered" not in history["text"]


def test_when_garmin_refuses_a_period_again_the_runner_is_told_what_is_missing(
        client, fake, live, runtime, athlete):
    fake.backfill_duplicates = "overlap"  # the stricter reading of "already requested period"
    user = fake.add_user()
    _recent_run(fake, user)
    assert connect(client, fake, athlete[1], user).status_code == 200
    runtime.queue.drain()
    fake.deliver_pending()
    runtime.queue.drain()
    _deregister_and_reconnect(client, fake, runtime, athlete, user)
    history = _api_view(client, athlete)["history"]
    assert history["status"] == "partial"  # a 409 is not "done"
    assert len(history["refused"]) == 3 and history["accepted"] == []
    assert "Not recovered" in history["text"] and "HTTP 409" in history["text"]
    page = client.get("/me", headers=BROWSER).get_data(as_text=True)
    assert "Not recovered: Garmin refused to send" in page


# -- refresh tokens that die of age ------------------------------------------------------------------


def _months_pass(runtime, fake, user, days: int) -> None:
    """`days` of silence: Garmin's clock ages the tokens, ours sees the same expiry dates."""
    fake.age_tokens(user, days * DAY)
    with runtime.db.session() as s:
        conn = s.scalar(select(Connection).where(Connection.provider_user_id == user))
        conn.expires_at = utcnow() - timedelta(days=days - 1)
        conn.refresh_expires_at -= timedelta(days=days)


def test_refresh_token_expiry_is_stored_from_the_token_response(runtime, garmin_user):
    conn = connection(runtime, garmin_user)
    left = conn.refresh_expires_at - utcnow()
    assert timedelta(days=89) < left <= timedelta(seconds=7775998)


def test_a_runner_who_syncs_nothing_for_three_months_stays_connected(fake, live, runtime,
                                                                     garmin_user):
    _months_pass(runtime, fake, garmin_user, 80)
    sweeper.sweep(runtime)  # the daily renewal job is due
    runtime.queue.drain()
    conn = connection(runtime, garmin_user)
    assert conn.status == "active" and conn.refresh_expires_at - utcnow() > timedelta(days=89)
    _months_pass(runtime, fake, garmin_user, 15)  # day 95: the first refresh token is dead
    fake.send_activity_files_ping(garmin_user, [fake.add_activity(garmin_user, ROAD_RUN)])
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "active"
    assert len(_runs(runtime)) == 1


def test_a_refresh_token_garmin_no_longer_accepts_revokes_with_a_reason(fake, runtime,
                                                                        garmin_user):
    _months_pass(runtime, fake, garmin_user, 91)  # nothing ran in time: it is dead
    sweeper.sweep(runtime)
    runtime.queue.drain()
    conn = connection(runtime, garmin_user)
    assert conn.status == "revoked" and conn.status_reason == gst.REVOKED_REFRESH


def test_disconnecting_after_revoking_at_garmin_sends_no_stopped_email(client, fake, runtime,
                                                                       athlete, garmin_user):
    fake.revoke_user(garmin_user)
    resp = client.post(f"/v1/athletes/{athlete[0]}/connections/garmin/disconnect",
                       headers={"Authorization": f"Bearer {athlete[1]}"})
    assert resp.get_json()["upstream"] == "already_revoked"  # Garmin answered 403
    conn = connection(runtime, garmin_user)
    assert (conn.status, conn.status_reason) == ("revoked", gst.DISCONNECTED)
    with runtime.db.session() as s:
        assert s.scalars(select(Delivery).where(
            Delivery.event_type == "connection.revoked")).all() == []


def test_a_paused_connection_resumes_when_garmin_says_sharing_is_back(fake, live, runtime,
                                                                      garmin_user):
    run = fake.add_activity(garmin_user, ROAD_RUN)
    fake.users[garmin_user].permissions = {"HEALTH_EXPORT"}
    fake.send_activity_files_ping(garmin_user, [run])
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "disabled"  # 412
    fake.users[garmin_user].permissions = set(ALL_PERMISSIONS)  # its notification is lost
    sweeper.sweep(runtime)  # the daily upkeep asks Garmin
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "active"
    sweeper.sweep(runtime)
    runtime.queue.drain()
    assert [r.provider_activity_id for r in _runs(runtime)] == [str(run.activity_id)]
