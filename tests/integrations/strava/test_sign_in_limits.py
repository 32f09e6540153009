"""A club behind one Wi-Fi address: 30 runners connect Strava in the same minute (issue 25: the
sign-in limit counted every page view and OAuth round trip, so about seven runners a minute got
through and then everyone saw 429). Only failed sign-ins count now."""

from __future__ import annotations

import requests

from .conftest import connect

RUNNERS = 30


def test_thirty_runners_behind_one_address_connect_in_the_same_minute(runtime, fake, live):
    assert runtime.settings.rate_limits.get("login", 20) < RUNNERS * 2  # the default limit holds
    answers = []
    for _ in range(RUNNERS):
        browser = requests.Session()  # each runner's own browser, all from 127.0.0.1
        browser.get(f"{live.url}/login", timeout=5)  # the page they land on first
        answers.append(connect(live, fake, None, fake.add_athlete(), note=False,
                               browser=browser).status_code)
    assert answers == [200] * RUNNERS


def test_failed_callbacks_still_count_against_the_address(runtime, fake, live):
    limit = 20
    browser = requests.Session()
    codes = [browser.get(f"{live.url}/connect/strava/callback",
                         params={"state": f"forged-{i}", "code": "x"}, timeout=5).status_code
             for i in range(limit + 1)]
    assert all(400 <= c < 500 and c != 429 for c in codes[:limit]), codes
    assert codes[limit] == 429
