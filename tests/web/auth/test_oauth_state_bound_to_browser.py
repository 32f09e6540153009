"""Item 1: OAuth account-linking CSRF. Mallory starts a connect in her browser and hands the
provider's authorize URL to a victim; the victim authorizes and comes back in their own browser.
The callback must refuse (the state was started by another browser): the victim's provider account
must not land in Mallory's kneeguard account, and the victim's browser must not be signed in as her.
"""

from __future__ import annotations

from sqlalchemy import select

from service.models import Connection
from tests.web.auth.steps import browser, finish, garmin_consent, start, strava_consent, whoami


def _connections(runtime, athlete_id: str) -> list[Connection]:
    with runtime.db.session() as s:
        return s.scalars(select(Connection).where(Connection.athlete_id == athlete_id)).all()


def _attack(live, mallory, provider: str, consent) -> tuple:
    attacker = browser()
    attacker.headers["Authorization"] = f"Bearer {mallory[1]}"
    authorize_url = start(attacker, live, provider)
    victim = browser()
    callback = consent(authorize_url)  # the victim authorizes their own provider account
    return victim, finish(victim, live, callback)


def test_strava_callback_refuses_a_state_started_by_another_browser(runtime, live, fake_strava,
                                                                     mallory):
    victim_strava = fake_strava.add_athlete(firstname="Vic", lastname="Tim")
    victim, answer = _attack(live, mallory, "strava",
                             lambda url: strava_consent(fake_strava, url, victim_strava))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_state"
    assert _connections(runtime, mallory[0]) == []
    assert whoami(victim, live)["kind"] == "anonymous"


def test_garmin_callback_refuses_a_state_started_by_another_browser(runtime, live, fake_garmin,
                                                                     mallory):
    victim_garmin = fake_garmin.add_user()
    victim, answer = _attack(live, mallory, "garmin",
                             lambda url: garmin_consent(fake_garmin, url, victim_garmin))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_state"
    assert _connections(runtime, mallory[0]) == []
    assert whoami(victim, live)["kind"] == "anonymous"


def test_the_browser_that_started_the_flow_still_finishes_it(runtime, live, fake_strava, mallory):
    """The refusal is about the browser, not a broken flow: the starter's own callback works."""
    own = fake_strava.add_athlete()
    b = browser()
    b.headers["Authorization"] = f"Bearer {mallory[1]}"
    answer = finish(b, live, strava_consent(fake_strava, start(b, live, "strava"), own))
    assert answer.status_code == 200, answer.text
    assert [c.provider_user_id for c in _connections(runtime, mallory[0])] == [str(own)]
