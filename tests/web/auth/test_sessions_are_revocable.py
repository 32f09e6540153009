"""Item 2: a session cookie copied before sign-out (or before the runner's token is reissued, or
the club key revoked) must stop working at once, for reads and for writes with its CSRF token;
cookies live days, not a month.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from service.domain import accounts
from tests.web.auth.steps import browser, csrf_of, sign_in, whoami


def _copy(b: requests.Session) -> requests.Session:
    thief = browser()
    thief.cookies.update(b.cookies)
    return thief


def _put_prefs(b: requests.Session, live, athlete_id: str, csrf: str) -> int:
    return b.put(f"{live.url}/v1/athletes/{athlete_id}/preferences", json={"email": False},
                 headers={"X-CSRF-Token": csrf}, timeout=5).status_code


def test_a_cookie_copied_before_sign_out_stops_working(live, mallory):
    runner = browser()
    assert sign_in(runner, live, mallory[1]).status_code == 303
    csrf = csrf_of(runner, live)
    thief = _copy(runner)
    assert whoami(thief, live)["kind"] == "athlete"  # the copy works while signed in
    out = runner.post(f"{live.url}/logout", data={"csrf_token": csrf}, allow_redirects=False,
                      timeout=5)
    assert out.status_code == 303
    assert whoami(thief, live)["kind"] == "anonymous"
    assert _put_prefs(thief, live, mallory[0], csrf) in (401, 403)


def test_reissuing_the_token_ends_every_session(runtime, live, mallory):
    runner = browser()
    sign_in(runner, live, mallory[1])
    csrf = csrf_of(runner, live)
    accounts.add_athlete(runtime, "mallory@example.com")  # `kneeguard athletes add` again
    assert whoami(runner, live)["kind"] == "anonymous"
    assert _put_prefs(runner, live, mallory[0], csrf) in (401, 403)


def test_the_session_cookie_lives_at_most_a_week(live, mallory):
    runner = browser()
    answer = sign_in(runner, live, mallory[1])
    cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie")
                  if c.startswith("session="))
    expires = next(p.split("=", 1)[1] for p in cookie.split("; ") if p.lower().startswith(
        "expires="))
    lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert lifetime.days <= 7, cookie


def test_revoking_a_club_key_ends_the_sessions_made_from_it(runtime, live):
    from service.domain import clubs

    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        key_row, key = clubs.issue_key(s, "club", "coach", ["read"], club_id=club.id)
        club_id, key_id = club.id, key_row.id
    coach = browser()
    assert sign_in(coach, live, key).status_code == 303
    assert coach.get(f"{live.url}/clubs/{club_id}", timeout=5).status_code == 200
    with runtime.db.session() as s:
        clubs.revoke_key(s, key_id, club_id)
    page = coach.get(f"{live.url}/clubs/{club_id}", allow_redirects=False, timeout=5)
    assert page.status_code == 303 and "/login" in page.headers["Location"]
