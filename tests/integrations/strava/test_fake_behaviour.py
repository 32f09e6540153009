"""FakeStrava's documented behaviours that the client tests do not reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from service.integrations.strava.fake.provider import FakeStrava

T0 = datetime(2026, 6, 10, 10, 7, 30, tzinfo=UTC)
REDIRECT = "http://127.0.0.1:8000/cb"


@pytest.fixture
def fake():
    now = {"t": T0}
    with FakeStrava(clock=lambda: now["t"]) as f:
        f.now = now
        f.athlete = f.add_athlete()
        f.token = f.issue_tokens(f.athlete, frozenset({"read", "activity:read_all",
                                                       "activity:write"}))["access_token"]
        yield f


def api(fake: FakeStrava, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{fake.api_url}{path}", timeout=5,
                            headers={"Authorization": f"Bearer {fake.token}"}, **kw)


def authorize_query(fake: FakeStrava) -> str:
    return (f"{fake.oauth_url}/authorize?client_id={fake.client_id}&response_type=code"
            f"&redirect_uri={REDIRECT}&scope=activity:read_all,activity:write&state=s1")


def test_denied_authorization_redirects_with_access_denied(fake):
    params = fake.authorize(authorize_query(fake), athlete=fake.athlete, deny=True)
    assert params == {"state": "s1", "error": "access_denied"}


def test_authorize_refuses_a_redirect_outside_the_callback_domain(fake):
    url = authorize_query(fake).replace("127.0.0.1:8000", "evil.example")
    assert requests.get(url, allow_redirects=False, timeout=5).status_code == 400


def test_codes_expire_after_ten_minutes(fake):
    code = fake.authorize(authorize_query(fake), athlete=fake.athlete)["code"]
    fake.now["t"] += timedelta(minutes=11)
    resp = requests.post(f"{fake.oauth_url}/token", timeout=5, data={
        "client_id": fake.client_id, "client_secret": fake.client_secret, "code": code,
        "grant_type": "authorization_code"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["resource"] == "AuthorizationCode"


def test_list_caps_per_page_at_200_and_orders_by_date(fake):
    for d in range(205):
        fake.add_activity(fake.athlete, T0 - timedelta(days=d), 5000.0)
    first = api(fake, "GET", "/athlete/activities", params={"per_page": 500}).json()
    assert len(first) == 200 and first[0]["start_date"] > first[-1]["start_date"]
    after = int((T0 - timedelta(days=3, hours=1)).timestamp())
    asc = api(fake, "GET", "/athlete/activities", params={"after": after}).json()
    assert [a["start_date"] for a in asc] == sorted(a["start_date"] for a in asc)
    assert len(asc) == 4


def test_form_encoded_booleans_are_misapplied_like_on_strava(fake):
    run = fake.add_activity(fake.athlete, T0)
    api(fake, "PUT", f"/activities/{run}", data={"commute": "false"})
    assert fake.activities[run]["commute"] is True
    api(fake, "PUT", f"/activities/{run}", json={"commute": False})
    assert fake.activities[run]["commute"] is False


def test_streams_without_key_by_type_use_the_list_form(fake):
    run = fake.add_activity(fake.athlete, T0, 3000.0)
    body = api(fake, "GET", f"/activities/{run}/streams",
               params={"keys": "time,altitude"}).json()
    assert sorted(s["type"] for s in body) == ["altitude", "time"]
    assert all(s["original_size"] == len(s["data"]) for s in body)


def test_usage_counts_429s_and_resets_on_the_quarter_hour(fake):
    fake.limits["read"] = (3, 1000)
    statuses = [api(fake, "GET", "/athlete").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert fake.usage["read"] == [4, 4]  # the refused call still counts
    fake.now["t"] = T0.replace(minute=15)
    resp = api(fake, "GET", "/athlete")
    assert resp.status_code == 200
    assert resp.headers["X-ReadRateLimit-Usage"] == "1,5"


def test_year_of_runs_has_manual_treadmill_and_trail_runs(fake):
    ids = fake.add_year_of_runs(fake.athlete, runs=300, end=T0)
    acts = [fake.activities[i] for i in ids]
    assert sum(a["manual"] for a in acts) == 12
    assert sum(a["trainer"] for a in acts) == 24  # every 10th, minus the 6 made manual
    assert sum(a["sport_type"] == "TrailRun" for a in acts) > 20
    assert min(a["start_date"] for a in acts) >= (T0 - timedelta(days=366)).isoformat()[:10]
