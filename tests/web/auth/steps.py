"""What a browser does in the sign-in tests: two real browsers are two `requests.Session` cookie
jars talking over real HTTP to the app on a loopback LiveServer (fixtures in conftest.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.strava.fake.provider import FakeStrava

JSON = {"Accept": "application/json"}


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
