"""Item 5 (Garmin): a deregistration or permission change carrying only the public
garmin-client-id header must not revoke or switch off a connection Garmin still honours.

Garmin signs nothing (reliability.md §4: "Push payloads carry only a garmin-client-id header, with
no signature"), and the client id is visible in every consent URL. The service asks Garmin itself
(the user's token against /wellness-api/rest/user/permissions) before acting.
"""

from __future__ import annotations

import requests

from tests.integrations.garmin.conftest import connection


def _forge(live, fake, path: str, body: dict) -> requests.Response:
    return requests.post(f"{live.url}{path}", json=body, timeout=5,
                         headers={"garmin-client-id": fake.client_id})


def test_a_forged_deregistration_revokes_nothing(runtime, fake, live, garmin_user):
    answer = _forge(live, fake, "/webhooks/garmin/deregistrations",
                    {"deregistrations": [{"userId": garmin_user}]})
    assert answer.status_code == 200
    runtime.queue.drain()
    conn = connection(runtime, garmin_user)
    assert conn.status == "active" and conn.access_token_enc is not None


def test_a_real_deregistration_still_revokes(runtime, fake, live, garmin_user):
    fake.revoke_user(garmin_user)  # tokens die at Garmin, then the notification goes out
    fake.deliver_pending()
    runtime.queue.drain()
    conn = connection(runtime, garmin_user)
    assert conn.status == "revoked" and conn.access_token_enc is None


def test_a_forged_permission_change_cannot_switch_ingestion_off(runtime, fake, live,
                                                               garmin_user):
    body = {"userPermissionsChange": [{"userId": garmin_user, "summaryId": "x1",
                                       "permissions": ["HEALTH_EXPORT"],
                                       "changeTimeInSeconds": 4_000_000_000}]}
    assert _forge(live, fake, "/webhooks/garmin/permissions", body).status_code == 200
    runtime.queue.drain()
    conn = connection(runtime, garmin_user)
    assert conn.status == "active"  # Garmin still reports ACTIVITY_EXPORT
    assert "ACTIVITY_EXPORT" in conn.details["permissions"]


def test_a_forged_deregistration_sent_ahead_cannot_swallow_the_real_one(runtime, fake, live,
                                                                       garmin_user):
    """Deregistrations have no id: the dedupe key is guessable, so a dropped one is re-checked."""
    _forge(live, fake, "/webhooks/garmin/deregistrations",
           {"deregistrations": [{"userId": garmin_user}]})
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "active"
    fake.revoke_user(garmin_user)
    fake.deliver_pending()  # the same body Garmin sends: the same dedupe key
    runtime.queue.drain()
    assert connection(runtime, garmin_user).status == "revoked"
