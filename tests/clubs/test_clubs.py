"""Clubs end to end through the HTTP API: invites, consent, what clubs see, withdrawal, keys."""

from __future__ import annotations

from sqlalchemy import select

from service.models import ApiKey
from tests.helpers import athlete_with_token


def _members(client, world, who: str = "club A admin") -> dict:
    r = client.get(f"/v1/clubs/{world.ids['club A']}/members",
                   headers=world.personas[who].headers)
    assert r.status_code == 200, r.json
    return {m["athlete_id"]: m for m in r.json["members"]}


def test_club_sees_no_strava_derived_or_private_findings(client, world):
    a1 = world.ids["athlete a1"]
    r = client.get(f"/v1/clubs/{world.ids['club A']}/members/{a1}",
                   headers=world.personas["club A admin"].headers)
    ids = {f["id"] for f in r.json["findings"]}
    assert ids == {world.ids["finding a1"]}
    assert world.ids["strava finding a1"] not in ids and world.ids["private finding a1"] not in ids
    assert "Strava" in r.json["policy"]


def test_weekly_series_leave_out_strava_and_private_runs(client, world, runtime):
    a1 = world.ids["athlete a1"]
    r = client.get(f"/v1/clubs/{world.ids['club A']}/members/{a1}/series?weeks=8",
                   headers=world.personas["club A read key"].headers)
    assert r.status_code == 200
    total_km = sum(w["distance_m"] for w in r.json["weeks"]) / 1000
    # seeded: 21 upload runs of 5..9 km; the 30 km Strava run and the 25 km private run must not
    # be in it.
    assert total_km == sum(5.0 + day % 5 for day in range(42, 0, -2))
    assert max(run["distance_m"] for run in r.json["runs"]) < 10_000
    # The same out-and-back every time: each segment is run both ways, so the net one-way share
    # (the route habit's measure) stays near zero.
    share = r.json["route_repetition"][-1]["share"]
    assert share is not None and share < 0.1


def test_members_carry_their_risk_in_a_stable_order_and_no_emails(client, world, runtime):
    """The API pages in athlete id order (stable across pages); each row carries its risk, so
    the riskiest is found by its score (the dashboard page ranks)."""
    from tests.clubs.world import add_finding

    with runtime.db.session() as s:
        add_finding(s, world.ids["athlete A"], None, rule="weekly_jump", severity="high",
                    sources=["garmin"])
    rows = list(_members(client, world).values())
    assert max(rows, key=lambda r: r["risk"]["score"])["athlete_id"] == world.ids["athlete A"]
    assert [r["athlete_id"] for r in rows] == sorted(r["athlete_id"] for r in rows)
    assert "@" not in str(rows)


def test_a_runner_joins_through_an_invite_with_explicit_consent(client, world, runtime):
    newcomer, headers = athlete_with_token(runtime, "new@example.com")
    admin = world.personas["club A admin"].headers
    invite = client.post(f"/v1/clubs/{world.ids['club A']}/invites", json={}, headers=admin).json
    token = invite["url"].rsplit("/", 1)[1]
    assert client.get(f"/v1/invites/{token}").json["club"]["name"] == "Club A"
    refused = client.post(f"/v1/invites/{token}/accept", json={"scope": []}, headers=headers)
    assert refused.status_code == 422
    assert newcomer not in _members(client, world)
    joined = client.post(f"/v1/invites/{token}/accept", json={"scope": ["distance"]},
                         headers=headers)
    assert joined.status_code == 200 and joined.json["sharing"] == ["distance"]
    row = _members(client, world)[newcomer]
    assert row["latest_finding"] is None and row["weeks"][-1]["loss_m"] is None  # not shared


def test_withdrawing_removes_the_member_from_the_club_at_once(client, world):
    a1 = world.personas["runner a1"]
    assert a1.athlete_id in _members(client, world)
    r = client.post(f"/v1/clubs/{world.ids['club A']}/membership/withdraw", headers=a1.headers)
    assert r.status_code == 200
    assert a1.athlete_id not in _members(client, world)
    detail = client.get(f"/v1/clubs/{world.ids['club A']}/members/{a1.athlete_id}",
                        headers=world.personas["club A admin"].headers)
    assert detail.status_code == 404


def test_an_expired_invite_is_refused(client, world, runtime):
    from datetime import timedelta

    from service.models import ClubInvite, utcnow

    with runtime.db.session() as s:
        s.get(ClubInvite, world.ids["invite A"]).expires_at = utcnow() - timedelta(seconds=1)
    r = client.post(f"/v1/invites/{world.ids['invite token A']}/accept",
                    json={"scope": ["findings"]}, headers=world.personas["runner b1"].headers)
    assert r.status_code == 404


def test_a_club_key_is_shown_once_stored_hashed_and_revocable(client, world, runtime):
    admin = world.personas["club A admin"].headers
    made = client.post(f"/v1/clubs/{world.ids['club A']}/keys", json={"name": "coach"},
                       headers=admin)
    assert made.status_code == 201 and made.json["key"].startswith("kgk_")
    key, key_id = made.json["key"], made.json["id"]
    with runtime.db.session() as s:
        stored = s.scalars(select(ApiKey.key_hash)).all()
    assert key not in stored and all(len(h) == 64 for h in stored)
    listed = client.get(f"/v1/clubs/{world.ids['club A']}/keys", headers=admin).json["keys"]
    assert "key" not in {k for row in listed for k in row}
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/v1/clubs/{world.ids['club A']}", headers=bearer).status_code == 200
    with runtime.db.session() as s:
        assert s.get(ApiKey, key_id).last_used_at is not None
    assert client.delete(f"/v1/clubs/{world.ids['club A']}/keys/{key_id}",
                         headers=admin).status_code == 204
    assert client.get(f"/v1/clubs/{world.ids['club A']}", headers=bearer).status_code == 401


def test_a_club_keeps_at_least_one_admin(client, world):
    runner_a = world.personas["runner A"]
    r = client.put(f"/v1/clubs/{world.ids['club A']}/members/{runner_a.athlete_id}/role",
                   json={"role": "member"}, headers=runner_a.headers)
    assert r.status_code == 409 and r.json["error"]["code"] == "last_admin"


def test_delete_my_data_removes_the_athlete_and_everything_derived(client, world, runtime):
    from service.models import Activity, ClubMember, Endpoint, Finding

    a1 = world.personas["runner a1"]
    r = client.delete(f"/v1/athletes/{a1.athlete_id}", headers=a1.headers)
    assert r.status_code == 200 and r.json["deleted"] is True
    with runtime.db.session() as s:
        for model in (Activity, Finding, ClubMember):
            assert s.scalars(select(model).where(model.athlete_id == a1.athlete_id)).all() == []
        assert s.scalars(select(Endpoint).where(Endpoint.athlete_id == a1.athlete_id)).all() == []
    assert client.get("/v1/whoami", headers=a1.headers).status_code == 401
