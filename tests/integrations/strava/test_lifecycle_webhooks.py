"""Strava's deauthorization push ("Revoke Access" on strava.com, Strava Webhook Events API:
object_type athlete, aspect_type update, updates {"authorized": "false"}) is a disconnection: the
athlete's own endpoint hears of it once, and nothing Strava-related goes to anyone else."""

from __future__ import annotations

import pytest

from service.domain import endpoints as svc
from service.infra import sweeper
from service.infra.loopback import free_port
from testkit.receiver import Receiver


@pytest.fixture
def settings(settings):
    """This folder's Strava settings, with webhooks allowed to reach the loopback receiver."""
    return settings.with_overrides(webhook_allow_loopback=True)


def test_a_deauthorization_is_announced_once_and_only_to_the_athlete(runtime, fake, connected):
    athlete_id, strava_athlete = connected
    with Receiver("127.0.0.1", free_port()) as rx:
        secrets = {}
        with runtime.db.session() as s:
            for path, owner in (("/own", {"athlete_id": athlete_id}), ("/operator", {})):
                ep, secrets[path] = svc.create(
                    s, runtime.box, url=f"http://127.0.0.1:{rx.port}{path}",
                    events=["athlete.disconnected"], allow_loopback=True, **owner)
        rx.path_secrets = secrets
        fake.deauthorize_athlete(strava_athlete)
        for _ in range(2):  # Strava may send it twice; the second finds no connection
            r = fake.send_event("athlete", strava_athlete, "update", strava_athlete,
                                {"authorized": "false"})
            assert r.status_code == 200
            runtime.queue.drain()
            sweeper.sweep(runtime)
            runtime.queue.drain()
    assert list(rx.by_path) == ["/own"]
    assert [(m["type"], m["data"]["reason"]) for m in rx.by_path["/own"]] == [
        ("athlete.disconnected", "deauthorized")]
