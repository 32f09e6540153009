"""Connect = sign up or sign in, end to end against the Strava and Garmin fakes over real HTTP.

A visitor with no account clicks Connect, consents at the (fake) provider and comes back: a new
account keyed by that provider identity, signed in on this browser, on /me. Connecting again from a
new browser signs into the same account; a second provider links to it; an invite link works for a
visitor who has no account yet (connect, consent page, joined).
"""

from __future__ import annotations

import re

import requests
from sqlalchemy import func, select

from service.domain import clubs
from service.models import Athlete, ClubMember, Connection
from tests.web.auth.steps import browser, finish, garmin_consent, start, strava_consent, whoami

HTML = {"Accept": "text/html"}


def _count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _strava_signup(live, fake, athlete: int, b=None, **params):
    b = b or browser()
    done = finish(b, live, strava_consent(fake, start(b, live, "strava", **params), athlete),
                  **HTML)
    return b, done


def test_an_anonymous_strava_connect_creates_an_account_and_signs_in(runtime, live, fake_strava):
    ana = fake_strava.add_athlete(firstname="Ana", lastname="Pereira")
    b, done = _strava_signup(live, fake_strava, ana)
    assert done.status_code == 303, done.text
    assert done.headers["Location"] == "/me?connected=strava&welcome=1"
    me = whoami(b, live)
    assert me["kind"] == "athlete" and me["via"] == "session"
    with runtime.db.session() as s:
        athlete = s.get(Athlete, me["athlete_id"])
        assert athlete.display_name == "Ana P." and athlete.email is None
        conn = s.scalar(select(Connection).where(Connection.athlete_id == athlete.id))
        assert conn.provider == "strava" and conn.provider_user_id == str(ana)
    page = b.get(f"{live.url}/me", headers=HTML, timeout=10)
    assert page.status_code == 200 and "Ana P." in page.text


def test_connecting_again_from_a_new_browser_signs_into_the_same_account(runtime, live,
                                                                          fake_strava):
    ana = fake_strava.add_athlete(firstname="Ana", lastname="Pereira")
    first, _ = _strava_signup(live, fake_strava, ana)
    second, done = _strava_signup(live, fake_strava, ana)
    assert done.headers["Location"] == "/me?connected=strava"  # no welcome: not a new account
    assert whoami(second, live)["athlete_id"] == whoami(first, live)["athlete_id"]
    assert _count(runtime, Athlete) == 1 and _count(runtime, Connection) == 1


def test_a_second_provider_links_to_the_signed_in_account(runtime, live, fake_strava,
                                                          fake_garmin):
    b, _ = _strava_signup(live, fake_strava, fake_strava.add_athlete())
    athlete_id = whoami(b, live)["athlete_id"]
    user = fake_garmin.add_user()
    done = finish(b, live, garmin_consent(fake_garmin, start(b, live, "garmin"), user), **HTML)
    assert done.status_code == 303 and done.headers["Location"] == "/me?connected=garmin"
    with runtime.db.session() as s:
        conns = {c.provider: c.athlete_id for c in s.scalars(select(Connection))}
    assert conns == {"strava": athlete_id, "garmin": athlete_id}
    assert _count(runtime, Athlete) == 1
    # and the Garmin identity alone now signs into that account from a new browser
    other = browser()
    finish(other, live, garmin_consent(fake_garmin, start(other, live, "garmin"), user))
    assert whoami(other, live)["athlete_id"] == athlete_id


def test_an_anonymous_garmin_connect_creates_an_account(runtime, live, fake_garmin):
    b = browser()
    user = fake_garmin.add_user()
    done = finish(b, live, garmin_consent(fake_garmin, start(b, live, "garmin"), user))
    assert done.status_code == 200 and done.json()["created"] is True
    me = whoami(b, live)
    assert me["kind"] == "athlete" and me["athlete_id"] == done.json()["athlete_id"]
    runtime.queue.drain()  # the connect-time backfill request runs
    assert fake_garmin.calls_to("/wellness-api/rest/backfill/activities")


def test_an_invite_works_for_a_visitor_without_an_account(runtime, live, fake_strava):
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        _, token = clubs.create_invite(s, club.id)
        club_id = club.id
    visitor = browser()
    invite = visitor.get(f"{live.url}/join/{token}", headers=HTML, timeout=5)
    assert invite.status_code == 200
    link = re.search(r'href="(/connect/strava\?next=[^"]+)"', invite.text).group(1)
    authorize = visitor.get(f"{live.url}{link.replace('&amp;', '&')}", allow_redirects=False,
                            timeout=5).headers["Location"]
    ana = fake_strava.add_athlete(firstname="Ana", lastname="Pereira")
    back = finish(visitor, live, strava_consent(fake_strava, authorize, ana), **HTML)
    assert back.status_code == 303 and back.headers["Location"] == f"/join/{token}"
    consent = visitor.get(f"{live.url}/join/{token}", headers=HTML, timeout=5)
    assert 'name="scope"' in consent.text and "Ana P." in consent.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1)
    joined = visitor.post(f"{live.url}/join/{token}", headers=HTML, allow_redirects=False,
                          data={"csrf_token": csrf, "scope": ["findings", "distance"],
                                "share_name": "1"}, timeout=5)
    assert joined.status_code == 303
    with runtime.db.session() as s:
        m = s.scalar(select(ClubMember).where(ClubMember.club_id == club_id))
        assert m.athlete_id == whoami(visitor, live)["athlete_id"]
        assert m.consent_scope == ["findings", "distance"] and m.share_name is True


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_a_garmin_sign_up_is_named_by_a_placeholder_it_replaces_before_a_club_sees_it(
        runtime, live, fake_garmin):
    """Garmin's APIs name no one (GET /wellness-api/rest/user/id answers {"userId"} only): the
    account starts as the pseudonym clubs would see anyway, /me and the consent page say it is a
    placeholder, and the name the runner then chooses is the one the club sees."""
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        _, token = clubs.create_invite(s, club.id)
        _, key = clubs.issue_key(s, "club", "coach", ["read"], club_id=club.id)
        club_id = club.id
    b = browser()
    finish(b, live, garmin_consent(fake_garmin, start(b, live, "garmin"), fake_garmin.add_user()),
           **HTML)
    athlete_id = whoami(b, live)["athlete_id"]
    placeholder = f"Runner {athlete_id[-6:]}"
    me = b.get(f"{live.url}/me", headers=HTML, timeout=10)
    assert f"<h1>{placeholder}</h1>" in me.text and 'id="name-placeholder"' in me.text
    consent = b.get(f"{live.url}/join/{token}", headers=HTML, timeout=5)
    assert placeholder in consent.text and 'id="name-placeholder"' in consent.text

    named = b.post(f"{live.url}/me/name", headers=HTML, allow_redirects=False, timeout=5,
                   data={"display_name": "Kai W.", "csrf_token": _csrf(me)})
    assert named.status_code == 303
    consent = b.get(f"{live.url}/join/{token}", headers=HTML, timeout=5)
    assert "Kai W." in consent.text and 'id="name-placeholder"' not in consent.text
    joined = b.post(f"{live.url}/join/{token}", headers=HTML, allow_redirects=False, timeout=5,
                    data={"csrf_token": _csrf(consent), "scope": ["findings"], "share_name": "1"})
    assert joined.status_code == 303
    dashboard = requests.get(f"{live.url}/clubs/{club_id}", timeout=10,
                             headers={**HTML, "Authorization": f"Bearer {key}"})
    assert dashboard.status_code == 200
    assert "Kai W." in dashboard.text and placeholder not in dashboard.text
