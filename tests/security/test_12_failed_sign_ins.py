"""Item 12: the sign-in limit counts failed sign-ins, per address and per credential; page views
do not count (a club on one Wi-Fi address is not locked out by people opening /login)."""

from __future__ import annotations

import re

import pytest

from service.domain import accounts

LIMIT = 5


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(rate_limits={"login": LIMIT})


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _try(client, credential: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"credential": credential, "csrf_token": _csrf(client)},
                       environ_base={"REMOTE_ADDR": address})


def test_page_views_do_not_count(client, runtime):
    _, token = accounts.add_athlete(runtime, "runner@example.com")
    for _ in range(LIMIT * 4):
        assert client.get("/login").status_code == 200
    assert _try(client, token).status_code == 303


def test_wrong_tokens_are_limited_per_address(client, runtime):
    _, token = accounts.add_athlete(runtime, "runner@example.com")
    codes = [_try(client, f"kg_wrong-{i}").status_code for i in range(LIMIT)]
    assert codes == [401] * LIMIT
    assert _try(client, token).status_code == 429  # even the right one, from this address
    assert _try(client, token, address="10.0.0.2").status_code == 303  # another address is fine


def test_one_credential_guessed_from_many_addresses_is_limited(client, runtime):
    codes = [_try(client, "kg_the-same-guess", address=f"10.0.1.{i}").status_code
             for i in range(LIMIT + 1)]
    assert codes == [401] * LIMIT + [429]
