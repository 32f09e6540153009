"""Browser sessions (runner token, club key), CSRF on unsafe methods, and rate limits."""

from __future__ import annotations

import re


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _token(headers: dict) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def _sign_in(client, token: str):
    return client.post("/login", data={"credential": token, "csrf_token": _csrf(client)})


def test_a_personal_token_in_the_form_signs_a_runner_in(client, world):
    runner = world.personas["runner a1"]
    r = _sign_in(client, _token(runner.headers))
    assert r.status_code == 303 and r.headers["Location"].endswith("/me")
    me = client.get("/v1/whoami").json
    assert me["kind"] == "athlete" and me["athlete_id"] == runner.athlete_id
    assert me["via"] == "session"


def test_unsafe_requests_on_a_session_need_the_csrf_token(client, world):
    runner = world.personas["runner a1"]
    _sign_in(client, _token(runner.headers))
    url = f"/v1/athletes/{runner.athlete_id}/preferences"
    refused = client.put(url, json={"email": False})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"
    ok = client.put(url, json={"email": False}, headers={"X-CSRF-Token": _csrf(client)})
    assert ok.status_code == 200 and ok.json["email"] is False


def test_a_club_key_pasted_into_the_form_opens_the_dashboard(client, world):
    key = _token(world.personas["club A read key"].headers)
    csrf = _csrf(client)
    r = client.post("/login", data={"credential": key, "csrf_token": csrf})
    assert r.status_code == 303 and f"/clubs/{world.ids['club A']}" in r.headers["Location"]
    page = client.get(f"/clubs/{world.ids['club A']}")
    assert page.status_code == 200 and 'id="members"' in page.get_data(as_text=True)
    assert client.get(f"/clubs/{world.ids['club B']}").status_code == 404


def test_integrator_keys_cannot_open_pages(client, world):
    key = _token(world.personas["integrator"].headers)
    r = client.post("/login", data={"credential": key, "csrf_token": _csrf(client)})
    assert r.status_code == 401


def test_a_key_over_its_limit_gets_429_with_retry_after(app, client, world):
    app.config["RATE_LIMITS"] = {"key": 3, "address": 1000}
    headers = world.personas["club A admin"].headers
    codes = [client.get("/v1/whoami", headers=headers).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.get("/v1/whoami", headers=headers)
    assert r.json["error"]["code"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= 60
    other = client.get("/v1/whoami", headers=world.personas["club B admin"].headers)
    assert other.status_code == 200  # per key, not global


def test_an_address_over_its_limit_gets_429_but_receivers_and_probes_never(app, client, world):
    app.config["RATE_LIMITS"] = {"key": 1000, "address": 2}
    assert [client.get("/v1/whoami").status_code for _ in range(3)] == [200, 200, 429]
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.post("/webhooks/strava", json={}).status_code != 429
        assert client.post("/webhooks/garmin/activities", json={}).status_code != 429
