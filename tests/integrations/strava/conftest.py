"""Strava fixtures: a FakeStrava and the app on a LiveServer (the fake calls our callback over real
HTTP), with the app's Strava settings pointing at the fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from service.domain import accounts
from service.infra.loopback import LiveServer, free_port
from service.integrations.strava.fake.provider import FakeStrava

VERIFY_TOKEN = "verify-me-please"



@pytest.fixture
def fake():
    with FakeStrava() as strava:
        yield strava


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(base_settings, fake, port):
    return base_settings.with_overrides(
        strava_client_id=fake.client_id, strava_client_secret=fake.client_secret,
        strava_verify_token=VERIFY_TOKEN, strava_api_url=fake.api_url,
        strava_oauth_url=fake.oauth_url, public_url=f"http://127.0.0.1:{port}")


@pytest.fixture
def live(app, port):
    with LiveServer(app, port=port) as server:
        yield server


@pytest.fixture
def runner(runtime) -> tuple[str, str]:
    """(athlete id, personal token) of a runner with an email address."""
    return accounts.add_athlete(runtime, "runner@example.com")


def connect(live, fake, token: str | None, strava_athlete: int, *, note: bool = True,
            grant: str | None = None, browser: requests.Session | None = None
            ) -> requests.Response:
    """The runner clicks Connect, approves on (fake) Strava, and comes back to our callback in
    the same browser (one cookie jar). `token=None`: an anonymous visitor (sign up or in)."""
    browser = browser or requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start = browser.get(f"{live.url}/connect/strava", params={"note": "1" if note else "0"},
                        headers=headers, allow_redirects=False, timeout=5)
    assert start.status_code == 302, start.text
    params = fake.authorize(start.headers["Location"], athlete=strava_athlete, grant=grant)
    return browser.get(f"{live.url}/connect/strava/callback", params=params, timeout=10)


def add_history(fake, athlete: int, runs: int = 8, km: float = 10.0, every_days: int = 4,
                end: datetime | None = None) -> list[int]:
    """Easy runs of `km` every few days before `end` (default: a day ago). The default spans 29
    days: the spike and ratio rules need 28 days of history before they speak (issue 11)."""
    end = end or datetime.now(UTC) - timedelta(days=1)
    return [fake.add_activity(athlete, end - timedelta(days=every_days * i, hours=i % 3),
                              km * 1000.0, climb_m=30.0) for i in range(runs)]


@pytest.fixture
def connected(runtime, fake, live, runner):
    """A connected runner with a month of 10 km runs; returns (athlete id, strava athlete id)."""
    athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    add_history(fake, strava_athlete, runs=8, km=10.0)
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    assert connect(live, fake, token, strava_athlete).status_code == 200
    runtime.queue.drain()
    return athlete_id, strava_athlete
