"""Item 7: odd digits in query integers and absurdly nested JSON are a 400 in the one error shape,
never a 500 (int("²") raises after "²".isdigit() said yes; json nested 100,000 deep raises
RecursionError)."""

from __future__ import annotations

import pytest

from tests.clubs.world import build

# What str.isdigit() or int() accept although no client means a number by them.
ODD_INTEGERS = ["²", "³", "¹⁰", "１０", "٣", "1_0", " 5", "5 ", "+5", "-1", "0x10", "9" * 40]
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


@pytest.fixture
def world(runtime):
    return build(runtime)


def _is_error_shape(r, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.get_data()[:300])
    body = r.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])


def test_odd_integers_in_query_parameters_are_a_400(client, world):
    runner = world.personas["runner A"]
    club = world.ids["club A"]
    paths = [(f"/v1/athletes/{runner.athlete_id}/activities", "limit"),
             (f"/v1/clubs/{club}/members", "weeks"),
             (f"/v1/clubs/{club}/members/{world.ids['athlete a1']}/series", "weeks")]
    for path, name in paths:
        assert client.get(f"{path}?{name}=3", headers=runner.headers).status_code == 200, path
        for odd in ODD_INTEGERS:
            r = client.get(path, query_string={name: odd}, headers=runner.headers)
            _is_error_shape(r, 400)
            assert r.get_json()["error"]["code"] == "invalid_input", (path, odd)


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_a_400_everywhere(client, world, body):
    runner = world.personas["runner A"]
    headers = {**runner.headers, "Content-Type": "application/json"}
    for method, path in [("PUT", f"/v1/athletes/{runner.athlete_id}/preferences"),
                         ("POST", "/v1/endpoints")]:
        r = client.open(path, method=method, data=body, headers=headers)
        _is_error_shape(r, 400)
        assert r.get_json()["error"]["code"] == "json_too_deep", path


def test_moderately_nested_json_is_still_refused_above_the_limit(client, world):
    runner = world.personas["runner A"]
    body = b'{"channels":' + b"[" * 40 + b"]" * 40 + b"}"
    r = client.put(f"/v1/athletes/{runner.athlete_id}/preferences", data=body,
                   headers={**runner.headers, "Content-Type": "application/json"})
    _is_error_shape(r, 400)


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(garmin_client_id="gc-id", garmin_client_secret="s",
                                        strava_client_id="1", strava_client_secret="s")


def test_provider_receivers_refuse_deep_json_with_a_400(client):
    deep_small = b"[" * 30_000 + b"]" * 30_000  # fits under the Strava receiver's 64 KiB cap
    r = client.post("/webhooks/strava", data=deep_small, content_type="application/json")
    _is_error_shape(r, 400)
    for path in ("/webhooks/garmin/activities", "/webhooks/garmin/deregistrations",
                 "/webhooks/garmin/permissions", "/webhooks/garmin/activity-files"):
        r = client.post(path, data=DEEP, content_type="application/json",
                        headers={"garmin-client-id": "gc-id"})
        _is_error_shape(r, 400)
