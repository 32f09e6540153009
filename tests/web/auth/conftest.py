"""Fixtures and steps for the sign-in, session and OAuth-state tests (items 1-4 and 11).

Two real browsers are two `requests.Session` cookie jars talking over real HTTP to the app on a
loopback LiveServer; Strava and Garmin are the sandboxes in service/integrations/<provider>/fake
(their own loopback servers).
Test modules import the fixtures they use by name (pytest finds them in the module namespace).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from service.domain import accounts
from service.infra.loopback import LiveServer, free_port
from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.strava.fake.provider import FakeStrava

JSON = {"Accept": "application/json"}



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


def browser() -> requests.Session:
    b = requests.Session()
    b.headers.update(JSON)
    return b


def csrf_of(b: requests.Session, live) -> str:
    page = b.get(f"{live.url}/login", headers={"Accept": "text/html"}, timeout=5).text
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def sign_in(b: requests.Session, live, token: str) -> requests.Response:
    """The /login form, as a browser submits it (with the form's CSRF token)."""
    return b.post(f"{live.url}/login", data={"credential": token, "csrf_token": csrf_of(b, live)},
                  allow_redirects=False, timeout=5)


def whoami(b: requests.Session, live) -> dict:
    r = b.get(f"{live.url}/v1/whoami", timeout=5)
    return r.json() if r.status_code == 200 else {"kind": "anonymous", "status": r.status_code}


def start(b: requests.Session, live, provider: str, **params) -> str:
    """Click "Connect <provider>": returns the provider's authorize URL."""
    r = b.get(f"{live.url}/connect/{provider}", params=params, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def strava_consent(fake: FakeStrava, authorize_url: str, athlete: int) -> str:
    """The Strava account holder clicks Authorize: the callback path+query they are sent to."""
    params = fake.authorize(authorize_url, athlete=athlete)
    return "/connect/strava/callback?" + "&".join(f"{k}={v}" for k, v in params.items())


def garmin_consent(fake: FakeGarmin, authorize_url: str, user: str) -> str:
    fake.login_user = user
    r = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    back = urlsplit(r.headers["Location"])
    return f"{back.path}?{back.query}"


def finish(b: requests.Session, live, callback: str, **headers) -> requests.Response:
    return b.get(f"{live.url}{callback}", headers=headers, allow_redirects=False, timeout=10)


def scopes_asked(authorize_url: str) -> set[str]:
    return set(parse_qs(urlsplit(authorize_url).query)["scope"][0].split(","))
