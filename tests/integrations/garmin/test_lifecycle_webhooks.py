"""Integrators hear about Garmin connections starting and ending (athlete.connected/disconnected)."""

import pytest

from service.domain import endpoints as svc
from tests.integrations.garmin.conftest import connect
from tests.notify_e2e.receiver import Receiver


@pytest.fixture
def settings(base_settings, fake):
    return base_settings.with_overrides(
        garmin_client_id=fake.client_id, garmin_client_secret=fake.client_secret,
        garmin_api_url=fake.api_url, garmin_auth_url=fake.auth_url,
        garmin_token_url=fake.token_url, webhook_allow_loopback=True)


def test_connect_and_disconnect_are_sent_as_signed_webhooks(client, fake, runtime, athlete):
    athlete_id, token = athlete
    with Receiver() as rx:
        with runtime.db.session() as s:
            _, secret = svc.create(s, runtime.box, url=rx.url, allow_loopback=True,
                                   events=["athlete.connected", "athlete.disconnected"])
        rx.secrets.append(secret)
        assert connect(client, fake, token, fake.add_user()).status_code == 200
        runtime.queue.drain()
        r = client.post(f"/v1/athletes/{athlete_id}/connections/garmin/disconnect",
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        runtime.queue.drain()
    types = [(m["payload"]["type"], m["payload"]["data"]["provider"]) for m in rx.received]
    assert types == [("athlete.connected", "garmin"), ("athlete.disconnected", "garmin")]
    assert all(m["payload"]["data"]["athlete_id"] == athlete_id for m in rx.received)
    assert rx.rejected == 0
