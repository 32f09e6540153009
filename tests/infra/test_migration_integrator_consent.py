"""The one `integrators` switch becomes per-integrator grants (docs/decisions.md, "Per-integrator
consent"): a runner who had it on keeps sharing with every integrator that existed then, and with
no integrator added later; one who had it off shares with none; keys of the same name are one
integrator and their endpoints follow it."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from service.infra import migrate
from tests.infra.test_migrations import empty_database_url  # noqa: F401  (fixture)

BEFORE = "c4d2a8e61f37"


def _rows(conn, sql: str, **params) -> list:
    return conn.execute(text(sql), params).all()


def test_the_switch_becomes_a_grant_per_existing_integrator(empty_database_url):  # noqa: F811
    migrate.upgrade(empty_database_url, BEFORE)
    engine = create_engine(empty_database_url)
    now = "2026-12-01 10:00:00"
    with engine.begin() as conn:
        for ident, prefs in (("ath_on", {"integrators": True, "email": False}),
                             ("ath_off", {"integrators": False}), ("ath_none", {})):
            conn.execute(text("INSERT INTO athletes (id, preferences, thresholds, note_writeback, "
                              "created_at, session_version) VALUES (:i, :p, '{}', false, :c, 0)"),
                         {"i": ident, "p": json.dumps(prefs), "c": now})
        for ident, name in (("key_1", "acme"), ("key_2", "acme"), ("key_3", "other")):
            conn.execute(text("INSERT INTO api_keys (id, kind, name, prefix, key_hash, scopes, "
                              "created_at, session_version) VALUES (:i, 'integrator', :n, 'p', :h, "
                              "'[\"read\"]', :c, 0)"), {"i": ident, "n": name, "h": ident, "c": now})
        conn.execute(text("INSERT INTO endpoints (id, url, event_types, owner_key_id, secret_enc, "
                          "status, created_at) VALUES ('ep_1', 'https://x.example/h', '[]', 'key_2', "
                          "'s', 'active', :c)"), {"c": now})
    migrate.upgrade(empty_database_url)
    with engine.connect() as conn:
        integrators = dict(_rows(conn, "SELECT name, id FROM integrators"))
        keys = dict(_rows(conn, "SELECT id, integrator_id FROM api_keys"))
        grants = _rows(conn, "SELECT athlete_id, integrator_id, scopes FROM integrator_grants")
        endpoint = conn.execute(text("SELECT integrator_id FROM endpoints")).scalar()
        prefs = dict(_rows(conn, "SELECT id, preferences FROM athletes"))
    engine.dispose()
    assert set(integrators) == {"acme", "other"}
    assert keys == {"key_1": integrators["acme"], "key_2": integrators["acme"],
                    "key_3": integrators["other"]}
    assert endpoint == integrators["acme"]
    assert sorted((a, i) for a, i, _ in grants) == sorted(
        ("ath_on", i) for i in integrators.values())
    assert all(sorted(_json(s)) == ["descent", "distance", "findings"] for _, _, s in grants)
    assert all("integrators" not in _json(p) for p in prefs.values())
    assert _json(prefs["ath_on"]) == {"email": False}


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
