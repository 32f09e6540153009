"""One `athlete.disconnected` per disconnection, whatever the provider sends afterwards.

Garmin's Health API documentation: a deregistration notification is pushed when a user's
registration ends, including when the partner itself calls DELETE /wellness-api/rest/user/
registration; so after our own disconnect the deregistration push follows, and it must not
announce the disconnection a second time."""

from __future__ import annotations

import json

import pytest

from service.domain import endpoints as svc
from service.infra.loopback import free_port
from testkit.receiver import Receiver
from tests.helpers import settle
from tests.integrations.garmin.conftest import connect
from workers.notify.catalog import validate_payload

EVENTS = ["athlete.connected", "athlete.disconnected"]


@pytest.fixture
def settings(base_settings, fake):
    return base_settings.with_overrides(
        garmin_client_id=fake.client_id, garmin_client_secret=fake.client_secret,
        garmin_api_url=fake.api_url, garmin_auth_url=fake.auth_url,
        garmin_token_url=fake.token_url, webhook_allow_loopback=True)


def deregistration_push(client, fake, user_id: str):  # noqa: F811
    """A real deregistration: the user removed kneeguard at Garmin (the service confirms a push
    upstream before acting on it, so the token must really be dead), then Garmin pushes."""
    fake.revoke_user(user_id)
    body = json.dumps({"deregistrations": [{"userId": user_id}]}).encode()
    return client.post("/webhooks/garmin/deregistrations", data=body,
                       content_type="application/json",
                       headers={"garmin-client-id": fake.client_id})



@pytest.mark.parametrize("order", ["ours_then_garmins", "garmins_then_ours"])
def test_a_garmin_disconnection_is_announced_once(client, fake, runtime, athlete, order):  # noqa: F811
    athlete_id, token = athlete
    user_id = fake.add_user()
    with Receiver("127.0.0.1", free_port()) as rx:
        with runtime.db.session() as s:
            _, rx.secret = svc.create(s, runtime.box, url=f"http://127.0.0.1:{rx.port}/op",
                                      events=EVENTS, allow_loopback=True)
        assert connect(client, fake, token, user_id).status_code == 200
        runtime.queue.drain()
        steps = [lambda: client.post(f"/v1/athletes/{athlete_id}/connections/garmin/disconnect",
                                     headers={"Authorization": f"Bearer {token}"}),
                 lambda: deregistration_push(client, fake, user_id)]
        for step in steps if order == "ours_then_garmins" else steps[::-1]:
            assert step().status_code == 200
            settle(runtime)
    assert [m["type"] for m in rx.verified] == EVENTS
    for message in rx.verified:
        validate_payload(message["type"], message)
    assert rx.verified[1]["data"]["reason"] == (
        "user_request" if order == "ours_then_garmins" else "deauthorized")


def test_reconnecting_starts_a_new_lifetime(client, fake, runtime, athlete):  # noqa: F811
    athlete_id, token = athlete
    user_id = fake.add_user()
    with Receiver("127.0.0.1", free_port()) as rx:
        with runtime.db.session() as s:
            _, rx.secret = svc.create(s, runtime.box, url=f"http://127.0.0.1:{rx.port}/op",
                                      events=EVENTS, allow_loopback=True)
        for _ in range(2):
            assert connect(client, fake, token, user_id).status_code == 200
            runtime.queue.drain()
            client.post(f"/v1/athletes/{athlete_id}/connections/garmin/disconnect",
                        headers={"Authorization": f"Bearer {token}"})
            deregistration_push(client, fake, user_id)
            settle(runtime)
    assert [m["type"] for m in rx.verified] == EVENTS * 2
