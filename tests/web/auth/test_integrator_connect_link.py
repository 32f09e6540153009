"""An integrator's connect link, end to end against the Strava and Garmin fakes over real HTTP:
minted with the integrator's key, opened by its user, the provider's consent, back on the runner's
choice of what that integrator sees; the integrator's reference is stored on the runner. A forged
or altered link is refused with a page that says what to do, before any provider is asked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from service.domain import clubs, integrators
from service.models import IntegratorGrant
from tests.web.auth.steps import (
    browser,
    csrf_of,
    finish,
    garmin_consent,
    strava_consent,
    whoami,
)

HTML = {"Accept": "text/html"}


@pytest.fixture
def integrator(runtime) -> tuple[str, dict]:
    with runtime.db.session() as s:
        row, key = clubs.issue_key(s, "integrator", "Acme Coaching", ["read", "admin"])
        return row.integrator_id, {"Authorization": f"Bearer {key}"}


def _mint(live, headers: dict, provider: str, ref: str) -> str:
    r = requests.post(f"{live.url}/v1/connect-links", json={"provider": provider, "ref": ref},
                      headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["url"]


def _open(b, url: str) -> requests.Response:
    return b.get(url, headers=HTML, allow_redirects=False, timeout=10)


@pytest.mark.parametrize("provider", ["strava", "garmin"])
def test_a_connect_link_stores_the_integrators_reference(runtime, live, fake_strava, fake_garmin,
                                                         integrator, provider):
    integrator_id, key = integrator
    b = browser()
    opened = _open(b, _mint(live, key, provider, "acme-user-7"))
    assert opened.status_code == 302
    if provider == "strava":
        callback = strava_consent(fake_strava, opened.headers["Location"],
                                  fake_strava.add_athlete(firstname="Ana", lastname="P"))
    else:
        callback = garmin_consent(fake_garmin, opened.headers["Location"], fake_garmin.add_user())
    done = finish(b, live, callback, **HTML)
    assert done.status_code == 303
    assert done.headers["Location"] == f"/me?integrator={integrator_id}#integrators"
    athlete_id = whoami(b, live)["athlete_id"]
    with runtime.db.session() as s:
        g = s.scalar(select(IntegratorGrant).where(IntegratorGrant.athlete_id == athlete_id))
        assert (g.integrator_id, g.ref, g.scopes) == (integrator_id, "acme-user-7", [])
    page = b.get(f"{live.url}{done.headers['Location']}", headers=HTML, timeout=10).text
    assert "Acme Coaching" in page  # the runner's choice for this integrator, nothing shared yet


def _altered(url: str, **changes) -> str:
    parts = urlsplit(url)
    args = {k: v[0] for k, v in parse_qs(parts.query).items()}
    args.update(changes)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(args)}"


def test_a_forged_or_altered_link_is_refused_with_a_clear_page(runtime, live, integrator):
    integrator_id, key = integrator
    good = _mint(live, key, "garmin", "acme-user-7")
    forged_sig = integrators.mint(live.url, "not-the-server-secret", "garmin", integrator_id,
                                  "acme-user-7")[0]
    expired = integrators.mint(live.url, runtime.settings.secret_key, "garmin", integrator_id,
                               "acme-user-7", ttl_s=-10)[0]
    for bad in (_altered(good, ref="acme-user-8"), _altered(good, exp="99999999999"),
                _altered(good, integrator="int_someone_else"), forged_sig, expired,
                _altered(good, sig="")):
        r = _open(browser(), bad)
        assert r.status_code == 400, bad
        assert "connect link cannot be used" in r.text and "Ask the app" in r.text
        assert r.headers["Content-Type"].startswith("text/html")
    r = browser().get(_altered(good, ref="x"), timeout=10)  # an API client: the error shape
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_connect_link"
    with runtime.db.session() as s:
        assert s.scalars(select(IntegratorGrant)).all() == []


def test_the_runner_changes_what_an_integrator_sees_on_me_with_csrf(runtime, live, fake_garmin,
                                                                   integrator):
    integrator_id, key = integrator
    b = browser()
    opened = _open(b, _mint(live, key, "garmin", "acme-user-9"))
    finish(b, live, garmin_consent(fake_garmin, opened.headers["Location"],
                                   fake_garmin.add_user()), **HTML)
    athlete_id = whoami(b, live)["athlete_id"]
    url = f"{live.url}/me/integrators/{integrator_id}"
    form = {"scope": ["findings", "descent"]}
    assert b.post(url, data=form, headers=HTML, allow_redirects=False, timeout=10
                  ).status_code == 403  # no CSRF token
    done = b.post(url, data={**form, "csrf_token": csrf_of(b, live)}, headers=HTML,
                  allow_redirects=False, timeout=10)
    assert done.status_code == 303
    with runtime.db.session() as s:
        assert integrators.grant(s, athlete_id, integrator_id).scopes == ["descent", "findings"]
    page = b.get(f"{live.url}{done.headers['Location']}", headers=HTML, timeout=10).text
    assert "sharing descent, findings" in page
