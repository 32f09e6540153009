"""Integrators hear about Garmin connections starting and ending (athlete.connected/disconnected)."""

import pytest

from service.domain import endpoints as svc
from testkit.receiver import Receiver
from tests.integrations.garmin.conftest import connect


@pytest.fixture
def settings(settings):
    """This folder's Garmin settings, with webhooks allowed to reach the loopback receiver."""
    return settings.with_overrides(webhook_allow_loopback=True)


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
