"""Garmin end to end: the app on a LiveServer, a FakeGarmin on another, both on 127.0.0.1 (`fake`,
the one the app's settings point at); or a bare sandbox without our app (`garmin`), whose
notifications a recording `receiver` collects."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from service.domain.accounts import add_athlete
from service.infra.loopback import LiveServer
from service.integrations.garmin.fake.provider import FakeGarmin
from service.models import Connection
from testkit.receiver import Receiver


@pytest.fixture
def garmin() -> Iterator[FakeGarmin]:
    with FakeGarmin() as sandbox:
        yield sandbox


@pytest.fixture
def receiver(garmin: FakeGarmin) -> Iterator[Receiver]:
    with Receiver(verify=False, status="200 OK") as server:
        garmin.configure_receivers(server.url)
        yield server


@pytest.fixture
def fake() -> Iterator[FakeGarmin]:
    with FakeGarmin() as garmin:
        yield garmin


@pytest.fixture
def settings(base_settings, fake):
    return base_settings.with_overrides(
        garmin_client_id=fake.client_id, garmin_client_secret=fake.client_secret,
        garmin_api_url=fake.api_url, garmin_auth_url=fake.auth_url,
        garmin_token_url=fake.token_url)


@pytest.fixture
def live(app, fake) -> Iterator[LiveServer]:
    """Our app served over real HTTP, so the fake can POST notifications to the receivers."""
    with LiveServer(app) as server:
        fake.configure_receivers(server.url)
        yield server


@pytest.fixture
def athlete(runtime) -> tuple[str, str]:
    """(athlete id, personal API token)."""
    return add_athlete(runtime, "runner@example.com")


def connect(client, fake: FakeGarmin, token: str, user_id: str | None = None):
    """Walk the browser through /connect/garmin → Garmin consent → our callback."""
    fake.login_user = user_id
    start = client.get("/connect/garmin", headers={"Authorization": f"Bearer {token}"})
    assert start.status_code == 302, start.get_json()
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


@pytest.fixture
def garmin_user(client, fake, runtime, athlete) -> str:
    """A Garmin user connected to `athlete`, with the connect-time backfill already run."""
    user = fake.add_user()
    resp = connect(client, fake, athlete[1], user)
    assert resp.status_code == 200, resp.get_json()
    runtime.queue.drain()
    return user


def connection(runtime, user_id: str) -> Connection | None:
    with runtime.db.session() as s:
        return s.scalar(select(Connection).where(Connection.provider_user_id == user_id))
