from __future__ import annotations

import pytest

from tests.clubs.world import build


@pytest.fixture
def settings(base_settings):
    # Endpoints in these tests point at 127.0.0.1 and are never called; no DNS lookups either.
    return base_settings.with_overrides(webhook_allow_loopback=True)


@pytest.fixture
def world(app, runtime):
    app.config["RATE_LIMITS"] = {"key": 100_000, "address": 100_000, "login": 100_000}
    return build(runtime)
