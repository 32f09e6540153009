"""Red team: JSON bodies were coerced (`{"email": "yes"}` turned a preference on, `"5"` was a
number) and UTF-16 bodies were accepted (json.loads guesses the encoding). Every JSON API body is
now strict: UTF-8 only, no type coercion, unknown keys refused, in the one error shape."""

from __future__ import annotations

import json

import pytest

from tests.clubs.world import build


@pytest.fixture
def world(runtime):
    return build(runtime)


def routes(world) -> list[tuple[str, str, dict]]:
    runner, club = world.personas["runner A"], world.ids["club A"]
    return [("PUT", f"/v1/athletes/{runner.athlete_id}/preferences", {"email": True}),
            ("POST", f"/v1/clubs/{club}/invites", {"ttl_hours": 24}),
            ("POST", "/v1/clubs", {"name": "Hill runners"})]


def error_code(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.get_data()[:300])
    body = r.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return body["error"]["code"]


COERCED = [({"email": "yes"}, 0), ({"email": 1}, 0), ({"email": "true"}, 0),
           ({"ttl_hours": "24"}, 1), ({"ttl_hours": 24.0}, 1), ({"ttl_hours": True}, 1),
           ({"name": 5}, 2)]


@pytest.mark.parametrize("body,route", COERCED, ids=[json.dumps(b) for b, _ in COERCED])
def test_no_type_coercion(client, world, body, route):
    method, path, _ = routes(world)[route]
    r = client.open(path, method=method, json=body, headers=world.personas["runner A"].headers)
    assert error_code(r, 422) == "validation_failed"


def test_valid_bodies_still_pass_and_unknown_keys_are_refused(client, world):
    headers = world.personas["runner A"].headers
    for method, path, good in routes(world):
        r = client.open(path, method=method, json=good, headers=headers)
        assert r.status_code in (200, 201), (path, r.status_code, r.get_json())
        r = client.open(path, method=method, json={**good, "is_admin": True}, headers=headers)
        assert error_code(r, 422) == "validation_failed"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_only_utf8_json(client, world, encoding):
    method, path, good = routes(world)[0]
    r = client.open(path, method=method, data=json.dumps(good).encode(encoding),
                    headers={**world.personas["runner A"].headers,
                             "Content-Type": "application/json"})
    assert error_code(r, 400) == "invalid_json"


def test_a_declared_foreign_charset_is_refused(client, world):
    method, path, good = routes(world)[0]
    r = client.open(path, method=method, data=json.dumps(good).encode(),
                    headers={**world.personas["runner A"].headers,
                             "Content-Type": "application/json; charset=iso-8859-1"})
    assert error_code(r, 400) == "invalid_json"
