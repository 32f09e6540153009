"""Integrators over the API: per-integrator consent, connect links, and the findings list.

The world (tests/clubs/world.py): runner a1 has upload findings, a Strava-derived finding and a
finding about a private run; an integrator key "acme".
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from service.domain import clubs, finding_list, integrators
from service.models import Finding
from tests.clubs.world import add_finding


def _integrator_id(runtime, world) -> str:
    with runtime.db.session() as s:
        return integrators.of_key(s, world.ids["key integrator"])


def _consent(client, world, who: str, integrator_id: str, scopes: list[str]):
    athlete = world.ids[f"athlete {who}"]
    return client.put(f"/v1/athletes/{athlete}/integrators/{integrator_id}",
                      json={"scopes": scopes}, headers=world.personas[f"runner {who}"].headers)


def test_a_runner_sees_every_integrator_and_chooses_per_integrator(client, runtime, world):
    with runtime.db.session() as s:
        clubs.issue_key(s, "integrator", "zeta", ["read"])
    a1 = world.ids["athlete a1"]
    headers = world.personas["runner a1"].headers
    listed = client.get(f"/v1/athletes/{a1}/integrators", headers=headers).get_json()
    assert [i["name"] for i in listed["integrators"]] == ["acme", "zeta"]
    assert all(i["scopes"] == [] for i in listed["integrators"])
    acme = _integrator_id(runtime, world)
    r = _consent(client, world, "a1", acme, ["findings", "distance"])
    assert r.status_code == 200 and r.get_json()["scopes"] == ["distance", "findings"]
    after = client.get(f"/v1/athletes/{a1}/integrators", headers=headers).get_json()
    assert {i["name"]: i["scopes"] for i in after["integrators"]} == {
        "acme": ["distance", "findings"], "zeta": []}
    assert _consent(client, world, "a1", acme, ["routes"]).status_code == 422
    # another runner's consent cannot be set or read
    r = client.put(f"/v1/athletes/{a1}/integrators/{acme}", json={"scopes": []},
                   headers=world.personas["runner b1"].headers)
    assert r.status_code == 404


def test_findings_list_for_the_runner_pages_and_filters(client, world):
    a1 = world.ids["athlete a1"]
    headers = world.personas["runner a1"].headers
    url = f"/v1/athletes/{a1}/findings"
    everything = client.get(url, headers=headers).get_json()
    ids = [f["id"] for f in everything["findings"]]
    assert set(ids) >= {world.ids["finding a1"], world.ids["strava finding a1"],
                        world.ids["private finding a1"]}
    assert everything["next_cursor"] is None and "integrator_ref" not in everything
    # cursor paging: one at a time gives the same list, in the same order
    seen, cursor = [], None
    while True:
        page = client.get(url, query_string={"limit": 1, **({"cursor": cursor} if cursor else {})},
                          headers=headers).get_json()
        seen += [f["id"] for f in page["findings"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    high = client.get(url, query_string={"severity": "high"}, headers=headers).get_json()
    assert {f["id"] for f in high["findings"]} == {world.ids["strava finding a1"],
                                                   world.ids["private finding a1"]}
    rule = client.get(url, query_string={"rule": "weekly_jump"}, headers=headers).get_json()
    assert [f["id"] for f in rule["findings"]] == [world.ids["private finding a1"]]
    recent = client.get(url, query_string={"since": (date.today() - timedelta(days=2)).isoformat()},
                        headers=headers).get_json()
    assert world.ids["finding a1"] in {f["id"] for f in recent["findings"]}
    assert world.ids["private finding a1"] not in {f["id"] for f in recent["findings"]}
    for bad in ({"since": "yesterday"}, {"since": "2026-02-30"}, {"severity": "red"},
                {"severity": "info,"}, {"rule": "Acwr"}, {"cursor": "!!"}, {"limit": 0}):
        r = client.get(url, query_string=bad, headers=headers)
        assert r.status_code == 400 and r.get_json()["error"]["code"]


def test_an_integrator_reads_only_consenting_runners_and_never_strava_or_private(
        client, runtime, world):
    a1 = world.ids["athlete a1"]
    url = f"/v1/athletes/{a1}/findings"
    key = world.personas["integrator"].headers
    assert client.get(url, headers=key).status_code == 404  # no consent yet
    acme = _integrator_id(runtime, world)
    _consent(client, world, "a1", acme, ["distance"])
    assert client.get(url, headers=key).status_code == 404  # consent, but not to findings
    _consent(client, world, "a1", acme, ["findings"])
    with runtime.db.session() as s:
        integrators.set_ref(s, a1, acme, "user-42")
    body = client.get(url, headers=key).get_json()
    assert body["integrator_ref"] == "user-42"
    got = {f["id"] for f in body["findings"]}
    assert world.ids["finding a1"] in got
    assert world.ids["strava finding a1"] not in got and world.ids["private finding a1"] not in got
    assert all(f["integrator_ref"] == "user-42" for f in body["findings"])
    # a club key, or the integrator about a runner who did not consent: the missing-athlete 404
    assert client.get(url, headers=world.personas["club A admin"].headers).status_code == 404
    other = f"/v1/athletes/{world.ids['athlete b1']}/findings"
    assert client.get(other, headers=key).status_code == 404


def test_a_withdrawn_finding_stays_listed_and_marked(client, runtime, world):
    a1 = world.ids["athlete a1"]
    with runtime.db.session() as s:
        gone = add_finding(s, a1, None, rule="acwr", severity="caution", sources=["upload"],
                           days_ago=4)
        finding_list.tombstone(s, s.get(Finding, gone))
        s.delete(s.get(Finding, gone))
    headers = world.personas["runner a1"].headers
    body = client.get(f"/v1/athletes/{a1}/findings", headers=headers).get_json()
    marked = [f for f in body["findings"] if f["id"] == gone]
    assert len(marked) == 1 and marked[0]["withdrawn"] is True and marked[0]["withdrawn_at"]
    assert all(f["withdrawn"] is False for f in body["findings"] if f["id"] != gone)
    only = client.get(f"/v1/athletes/{a1}/findings", query_string={"withdrawn": "only"},
                      headers=headers).get_json()
    assert [f["id"] for f in only["findings"]] == [gone]


def test_an_integrator_mints_a_signed_connect_link(client, runtime, world):
    key = world.personas["integrator"].headers
    r = client.post("/v1/connect-links", json={"provider": "garmin", "ref": "user 42/e"},
                    headers=key)
    assert r.status_code == 201
    body = r.get_json()
    parts = urlsplit(body["url"])
    assert parts.path == "/connect/garmin"
    args = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert args["integrator"] == _integrator_id(runtime, world) and args["ref"] == "user 42/e"
    secret = runtime.settings.secret_key
    assert integrators.verify(secret, args).ref == "user 42/e"
    # only an integrator's key mints links
    r = client.post("/v1/connect-links", json={"provider": "garmin", "ref": "x"},
                    headers=world.personas["runner a1"].headers)
    assert r.status_code == 403
