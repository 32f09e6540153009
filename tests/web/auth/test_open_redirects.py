"""Red team: an open redirect after sign-in. `next=/%09/evil.com` was accepted (it starts with one
slash), answered `Location: /\t/evil.com`, and browsers drop tabs and newlines from URLs: the
runner landed on //evil.com, signed in and trusting the page. CR/LF in `next` gave a 500 after the
session was set. Every `next` must end as a same-origin path without control characters, on
/login and on both connect callbacks (where `next` is kept in the OAuth state row).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from tests.web.auth.steps import browser, csrf_of, finish, garmin_consent, start, strava_consent

HOSTILE = ["/\t/evil.com", "//evil.com", "/\\evil.com", "/\\/evil.com", "/\r\nSet-Cookie: a=b",
           "/\n/evil.com", "https://evil.com/", "/ /evil.com", "\t//evil.com", "/\x00/evil.com",
           "///evil.com", "/%2F/evil.com"]
HTML = {"Accept": "text/html"}


def as_a_browser_follows(location: str, base: str) -> str:
    """Where a browser goes: WHATWG URL parsing removes tabs and newlines, then resolves."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "")
    return urljoin(base + "/", cleaned)


def assert_same_origin(answer, live) -> None:
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
    location = answer.headers["Location"]
    assert not any(ord(c) < 0x20 or c in "\x7f\\" for c in location), repr(location)
    target = urlsplit(as_a_browser_follows(location, live.url))
    assert (target.scheme, target.netloc) == tuple(urlsplit(live.url)[:2]), repr(location)


@pytest.mark.parametrize("target", HOSTILE)
def test_login_never_redirects_off_site(live, mallory, target):
    b = browser()
    answer = b.post(f"{live.url}/login", data={
        "credential": mallory[1], "csrf_token": csrf_of(b, live), "next": target},
        headers=HTML, allow_redirects=False, timeout=5)
    assert_same_origin(answer, live)


def test_login_still_returns_to_a_same_site_path(live, mallory):
    b = browser()
    answer = b.post(f"{live.url}/login", data={
        "credential": mallory[1], "csrf_token": csrf_of(b, live), "next": "/me?tab=emails"},
        headers=HTML, allow_redirects=False, timeout=5)
    assert answer.headers["Location"] == "/me?tab=emails"


@pytest.mark.parametrize("target", HOSTILE[:6])
def test_strava_callback_never_redirects_off_site(live, fake_strava, mallory, target):
    b = browser()
    b.headers["Authorization"] = f"Bearer {mallory[1]}"
    authorize = start(b, live, "strava", next=target)
    callback = strava_consent(fake_strava, authorize, fake_strava.add_athlete())
    assert_same_origin(finish(b, live, callback, **HTML), live)


@pytest.mark.parametrize("target", HOSTILE[:6])
def test_garmin_callback_never_redirects_off_site(live, fake_garmin, mallory, target):
    b = browser()
    b.headers["Authorization"] = f"Bearer {mallory[1]}"
    authorize = start(b, live, "garmin", next=target)
    callback = garmin_consent(fake_garmin, authorize, fake_garmin.add_user())
    assert_same_origin(finish(b, live, callback, **HTML), live)
