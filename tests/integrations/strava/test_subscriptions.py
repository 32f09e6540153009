"""Push subscriptions through StravaClient, with FakeStrava doing the real validation handshake
against a callback served on loopback, and events POSTed back in Strava's shape."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from service.infra.loopback import LiveServer
from service.integrations.base import ProviderError
from service.integrations.strava.client import StravaClient
from service.integrations.strava.fake.provider import FakeStrava

VERIFY = "let-me-in"


class Receiver:
    """A minimal webhook endpoint: echoes the challenge when the verify token matches (as our
    Flask route must), records every event POSTed to it, answers `status` to events."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.status = "200 OK"

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "GET":
            q = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
            if q.get("hub.verify_token") != VERIFY:
                start_response("403 Forbidden", [("Content-Type", "application/json")])
                return [b"{}"]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"hub.challenge": q["hub.challenge"]}).encode()]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        self.events.append(json.loads(environ["wsgi.input"].read(size)))
        start_response(self.status, [("Content-Type", "text/plain")])
        return [b""]


@pytest.fixture
def setup():
    receiver = Receiver()
    with FakeStrava() as fake, LiveServer(receiver) as srv:
        client = StravaClient(fake.api_url, fake.oauth_url, fake.client_id, fake.client_secret)
        yield fake, client, receiver, f"{srv.url}/webhooks/strava"


def test_subscribe_list_and_unsubscribe(setup):
    fake, client, _, callback = setup
    sub_id = client.create_subscription(callback, VERIFY)
    subs = client.list_subscriptions()
    assert [(s.id, s.callback_url) for s in subs] == [(sub_id, callback)]
    client.delete_subscription(sub_id)
    assert client.list_subscriptions() == []
    assert fake.count("GET", "/api/v3/push_subscriptions") == 2


def test_a_callback_that_fails_the_handshake_gets_no_subscription(setup):
    fake, client, _, callback = setup
    with pytest.raises(ProviderError) as err:
        client.create_subscription(callback, "wrong-token")
    assert (err.value.status, err.value.permanent) == (400, True)
    assert fake.subscription is None


def test_only_one_subscription_per_app(setup):
    _, client, _, callback = setup
    client.create_subscription(callback, VERIFY)
    with pytest.raises(ProviderError) as err:
        client.create_subscription(callback, VERIFY)
    assert err.value.status == 400


def test_events_arrive_in_stravas_shape(setup):
    fake, client, receiver, callback = setup
    sub_id = client.create_subscription(callback, VERIFY)
    resp = fake.send_event("activity", 99, "update", 7, {"title": "Messy"}, event_time=1516126040)
    assert resp.status_code == 200
    assert receiver.events == [{"aspect_type": "update", "event_time": 1516126040,
                                "object_id": 99, "object_type": "activity", "owner_id": 7,
                                "subscription_id": sub_id, "updates": {"title": "Messy"}}]


def test_strava_retries_a_non_200_up_to_three_attempts(setup):
    fake, client, receiver, callback = setup
    client.create_subscription(callback, VERIFY)
    receiver.status = "500 Internal Server Error"
    assert fake.send_event("activity", 1, "create", 7, attempts=3).status_code == 500
    assert len(receiver.events) == 3


def test_deauthorization_kills_tokens_then_sends_the_athlete_event(setup):
    fake, client, receiver, callback = setup
    client.create_subscription(callback, VERIFY)
    athlete = fake.add_athlete()
    tokens = fake.issue_tokens(athlete, frozenset({"read"}))
    fake.send_deauthorization(athlete)
    assert receiver.events[-1]["updates"] == {"authorized": "false"}
    assert receiver.events[-1]["object_type"] == "athlete"
    assert tokens["access_token"] not in fake.access_tokens
