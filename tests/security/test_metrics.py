"""Item 8: /metrics cannot be inflated by clients and can require a bearer token.

Before: every distinct HTTP method a client sent became a new label value (200 random methods,
400 series); the scrape itself was public."""

from __future__ import annotations

import secrets

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-" + secrets.token_urlsafe(16)


def _series(text: str) -> set[tuple]:
    return {tuple(sorted(s.labels.items()))
            for family in text_string_to_metric_families(text)
            if family.name == "kneeguard_http_requests"
            for s in family.samples if s.name == "kneeguard_http_requests_total"}


def test_random_methods_and_paths_add_no_series(client):
    client.get("/healthz")
    client.open("/healthz", method="BREW")  # one odd method: its fixed "other" label exists
    client.get("/no/such/path")
    before = _series(client.get("/metrics").get_data(as_text=True))
    for i in range(200):
        client.open(f"/random/{secrets.token_hex(4)}", method=f"M{secrets.token_hex(3).upper()}")
        client.open("/healthz", method=f"X{i}")
        client.get(f"/v1/athletes/{secrets.token_hex(6)}/activities/{i}")
    after = _series(client.get("/metrics").get_data(as_text=True))
    new = after - before
    assert len(new) <= 4, sorted(new)[:10]  # at most a status or two per route, never per request
    methods = {dict(labels)["method"] for labels in after}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    endpoints = {dict(labels)["endpoint"] for labels in after}
    assert not any("/" in e for e in endpoints), endpoints  # rule names, never raw paths


class TestWithAToken:
    @pytest.fixture
    def settings(self, base_settings):
        return base_settings.with_overrides(metrics_token=TOKEN)

    def test_the_metrics_token_is_required_when_set(self, client):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert "kneeguard_http_requests_total" in ok.get_data(as_text=True)
        assert client.get("/metrics").get_json()["error"]["code"] == "metrics_token"


def test_the_metrics_token_is_read_from_the_environment():
    from service.infra.settings import Settings

    env = {"DATABASE_URL": "sqlite:///unused.db", "KNEEGUARD_SECRET_KEY": "k",
           "KNEEGUARD_ENCRYPTION_KEYS": "X" * 43 + "=", "KNEEGUARD_METRICS_TOKEN": TOKEN}
    assert Settings.from_env(env).metrics_token == TOKEN
