"""Item 3: personal tokens never travel in URLs (access logs, browser history, Referer).
`/login?token=` and `/connect/*?token=` are refused instead of honoured, and the access log
records paths without their query strings.
"""

from __future__ import annotations

from service.infra import server
from tests.web.auth.steps import browser, whoami


def test_a_token_in_the_login_url_signs_nobody_in(live, mallory):
    b = browser()
    answer = b.get(f"{live.url}/login", params={"token": mallory[1]}, allow_redirects=False,
                   timeout=5)
    assert answer.status_code == 400
    assert "not accepted in URLs" in answer.text  # the page says what to do instead
    assert whoami(b, live)["kind"] == "anonymous"


def test_a_token_in_a_connect_url_is_refused(live, mallory):
    for provider in ("strava", "garmin"):
        answer = browser().get(f"{live.url}/connect/{provider}", params={"token": mallory[1]},
                               allow_redirects=False, timeout=5)
        assert answer.status_code == 400, provider
        assert answer.json()["error"]["code"] == "token_in_url"


def test_the_access_log_leaves_query_strings_out():
    fmt = server.gunicorn_options("127.0.0.1", 8000, 1, "INFO")["access_log_format"]
    assert "%(r)s" not in fmt and "%(q)s" not in fmt and "%(U)s" in fmt
