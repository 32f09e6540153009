"""Connecting and disconnecting a Garmin account (OAuth 2.0 + PKCE against the fake)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import func, select

from service.domain.accounts import add_athlete
from service.models import Activity, RawFile
from tests.integrations.garmin.conftest import connect, connection


def test_connect_redirects_to_garmin_with_pkce_s256_and_a_state(client, athlete):
    resp = client.get("/connect/garmin", headers={"Authorization": f"Bearer {athlete[1]}"})
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url SHA-256, no padding
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/connect/garmin/callback"]
    assert len(query["state"][0]) >= 32


def test_connect_refuses_a_token_in_the_url(client, athlete):
    resp = client.get(f"/connect/garmin?token={athlete[1]}")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "token_in_url"


def test_connect_with_a_wrong_bearer_token_is_unauthorized(client, athlete):
    resp = client.get("/connect/garmin", headers={"Authorization": "Bearer kg_wrong"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"


def test_callback_stores_encrypted_tokens_keyed_by_garmin_user_id(client, fake, runtime,
                                                                  athlete):
    user = fake.add_user()
    resp = connect(client, fake, athlete[1], user)
    assert resp.status_code == 200
    assert resp.get_json()["connected"] is True
    conn = connection(runtime, user)
    assert conn.athlete_id == athlete[0] and conn.status == "active"
    token = runtime.box.decrypt(conn.access_token_enc)
    assert token in fake._access and token not in conn.access_token_enc  # stored encrypted
    assert fake.calls_to("/wellness-api/rest/user/id")[0].user_id == user
    assert conn.expires_at - conn.created_at > timedelta(hours=23)


def test_callback_state_is_single_use(client, fake, athlete):
    fake.login_user = fake.add_user()
    start = client.get("/connect/garmin", headers={"Authorization": f"Bearer {athlete[1]}"})
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(consent.headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 200
    replay = client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400
    assert replay.get_json()["error"]["code"] == "invalid_state"


def test_refused_consent_answers_an_error_and_connects_nothing(client, fake, runtime,
                                                               athlete):
    fake.deny_consent = True
    resp = connect(client, fake, athlete[1], fake.add_user())
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "consent_denied"
    assert fake.calls_to("/di-oauth2-service/integrations/oauth/token") == []


def test_a_garmin_user_already_connected_to_another_athlete_is_a_conflict(client, fake,
                                                                          runtime, athlete,
                                                                          garmin_user):
    _, other_token = add_athlete(runtime, "other@example.com")
    resp = connect(client, fake, other_token, garmin_user)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "already_connected"
    assert connection(runtime, garmin_user).athlete_id == athlete[0]


def test_connect_requests_a_90_day_backfill_in_30_day_chunks(fake, runtime, garmin_user):
    chunks = [(start, end) for user, start, end in fake.backfills if user == garmin_user]
    assert len(chunks) == 3
    assert all(0 < end - start <= 30 * 86400 for start, end in chunks)
    assert chunks[-1][1] - chunks[0][0] == 90 * 86400
    assert connection(runtime, garmin_user).details["backfill"]["status"] == "requested"


def test_a_rerun_backfill_job_does_not_ask_again_for_chunks_garmin_accepted(fake, runtime,
                                                                          garmin_user):
    from service.integrations.garmin.upkeep import backfill

    backfill(connection(runtime, garmin_user).id)
    details = connection(runtime, garmin_user).details["backfill"]
    assert details["status"] == "requested" and len(details["accepted"]) == 3
    assert details["refused"] == []
    assert [c.status for c in fake.calls_to("/wellness-api/rest/backfill/activities")] == [202] * 3


def test_backfilled_notifications_import_the_recent_file(client, fake, live, runtime, athlete):
    import time

    user = fake.add_user()
    fake.add_activity(user, "msimms__20210507_run_garmin_fenix_6.fit",
                      summary={"startTimeInSeconds": int(time.time()) - 5 * 86400})
    assert connect(client, fake, athlete[1], user).status_code == 200
    runtime.queue.drain()  # the backfill job asks Garmin, which queues notifications
    assert [d.status for d in fake.deliver_pending()] == [200, 200]
    runtime.queue.drain()
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 1


def test_disconnect_deregisters_at_garmin_and_deletes_tokens_and_garmin_data(
        client, fake, live, runtime, athlete, garmin_user):
    run = fake.add_activity(garmin_user, "msimms__20210507_run_garmin_fenix_6.fit")
    fake.send_activity_files_ping(garmin_user, [run])
    runtime.queue.drain()
    resp = client.post(f"/v1/athletes/{athlete[0]}/connections/garmin/disconnect",
                       headers={"Authorization": f"Bearer {athlete[1]}"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["upstream"] == "deregistered"
    assert body["deleted"]["activities"] == 1 and body["deleted"]["raw_files"] == 1
    assert fake.users[garmin_user].registered is False
    conn = connection(runtime, garmin_user)
    assert conn.status == "revoked" and conn.access_token_enc is None
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(RawFile)) == 0
    # Garmin's final deregistration notification is acknowledged and changes nothing.
    assert [d.status for d in fake.deliver_pending()] == [200]
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "revoked"


def test_disconnect_after_the_user_revoked_us_at_garmin_still_deletes(client, fake, runtime,
                                                                      athlete, garmin_user):
    fake.revoke_user(garmin_user)
    fake.expire_access_tokens(garmin_user)
    resp = client.post(f"/v1/athletes/{athlete[0]}/connections/garmin/disconnect",
                       headers={"Authorization": f"Bearer {athlete[1]}"})
    assert resp.status_code == 200
    assert resp.get_json()["upstream"] == "already_revoked"
    assert connection(runtime, garmin_user).status == "revoked"


def test_disconnect_of_another_athlete_is_not_found(client, runtime, athlete, garmin_user):
    other_id, other_token = add_athlete(runtime, "other@example.com")
    resp = client.post(f"/v1/athletes/{athlete[0]}/connections/garmin/disconnect",
                       headers={"Authorization": f"Bearer {other_token}"})
    assert resp.status_code == 404
    assert connection(runtime, garmin_user).status == "active"


def test_a_browser_lands_on_its_own_page_signed_in_after_connecting(client, fake, athlete):
    from urllib.parse import urlsplit

    import requests

    fake.login_user = fake.add_user()
    start = client.get("/connect/garmin", headers={"Authorization": f"Bearer {athlete[1]}"})
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(consent.headers["Location"])
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    done = client.get(f"{back.path}?{back.query}", headers=browser)
    assert done.status_code == 303 and done.headers["Location"].endswith("/me?connected=garmin")
    page = client.get("/me", headers=browser)  # the session cookie signs the runner in
    assert page.status_code == 200


def test_a_failed_backfill_is_retried_by_the_sweeper_when_due(client, fake, runtime, athlete):
    from datetime import datetime, timedelta

    from service.infra import sweeper

    fake.fail_next("/wellness-api/rest/backfill/activities", 503)
    user = fake.add_user()
    assert connect(client, fake, athlete[1], user).status_code == 200
    runtime.queue.drain()
    failed = connection(runtime, user).details["backfill"]
    assert failed["status"] == "failed" and failed["attempts"] == 1
    due = datetime.fromisoformat(failed["next_at"])
    sweeper.sweep(runtime, now=due - timedelta(seconds=1))  # not yet
    runtime.queue.drain()
    assert connection(runtime, user).details["backfill"]["status"] == "failed"
    sweeper.sweep(runtime, now=due + timedelta(seconds=1))
    runtime.queue.drain()
    assert connection(runtime, user).details["backfill"]["status"] == "requested"
