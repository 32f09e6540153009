"""Fixtures for the sign-in, session and OAuth-state tests (red-team items: OAuth state bound to
the browser, revocable sessions, no tokens in URLs, login CSRF, scopes as needed) and the signup
tests; the steps a browser takes are in steps.py.

Two real browsers are two `requests.Session` cookie jars talking over real HTTP to the app on a
loopback LiveServer; Strava and Garmin are the sandboxes in service/integrations/<provider>/fake
(their own loopback servers).
"""

from __future__ import annotations

import pytest

from service.domain import accounts
from service.infra.loopback import LiveServer, free_port
from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.strava.fake.provider import FakeStrava


@pytest.fixture
def fake_strava():
    with FakeStrava() as strava:
        yield strava


@pytest.fixture
def fake_garmin():
    with FakeGarmin() as garmin:
        yield garmin


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(base_settings, fake_strava, fake_garmin, port):
    """Both providers configured against the fakes; PUBLIC_URL is where the LiveServer listens."""
    return base_settings.with_overrides(
        strava_client_id=fake_strava.client_id, strava_client_secret=fake_strava.client_secret,
        strava_api_url=fake_strava.api_url, strava_oauth_url=fake_strava.oauth_url,
        garmin_client_id=fake_garmin.client_id, garmin_client_secret=fake_garmin.client_secret,
        garmin_api_url=fake_garmin.api_url, garmin_auth_url=fake_garmin.auth_url,
        garmin_token_url=fake_garmin.token_url, public_url=f"http://127.0.0.1:{port}")


@pytest.fixture
def live(app, port):
    with LiveServer(app, port=port) as server:
        yield server


@pytest.fixture
def mallory(runtime) -> tuple[str, str]:
    """(athlete id, personal token) of the attacker, who has an account."""
    return accounts.add_athlete(runtime, "mallory@example.com")
