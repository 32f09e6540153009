"""Operator commands: `clubs add` and `keys add|list|revoke` print JSON keys that work on the API."""

from __future__ import annotations

import json

from click.testing import CliRunner

from service.cli import main


def _run(settings, *args: str) -> dict:
    env = {"DATABASE_URL": settings.database_url, "KNEEGUARD_SECRET_KEY": settings.secret_key,
           "KNEEGUARD_ENCRYPTION_KEYS": ",".join(settings.encryption_keys)}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_clubs_add_prints_an_admin_key_that_opens_the_club(client, settings):
    out = _run(settings, "clubs", "add", "Harriers", "--admin", "coach@example.com")
    assert set(out) >= {"id", "key"} and out["key"].startswith("kgk_")
    headers = {"Authorization": f"Bearer {out['key']}"}
    club = client.get(f"/v1/clubs/{out['id']}", headers=headers)
    assert club.status_code == 200 and club.json["name"] == "Harriers"
    invite = client.post(f"/v1/clubs/{out['id']}/invites", json={}, headers=headers)
    assert invite.status_code == 201


def test_an_integrator_key_can_be_listed_and_revoked(client, settings):
    out = _run(settings, "keys", "add", "--integrator", "acme")
    headers = {"Authorization": f"Bearer {out['key']}"}
    assert client.get("/v1/whoami", headers=headers).json["kind"] == "integrator"
    listed = _run(settings, "keys", "list")["keys"]
    assert [k["id"] for k in listed] == [out["id"]] and "key" not in listed[0]
    _run(settings, "keys", "revoke", out["id"])
    assert client.get("/v1/whoami", headers=headers).status_code == 401
