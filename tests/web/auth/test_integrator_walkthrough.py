"""The integrator's journey in headless Chromium, as the README tells it: from an API key to a
verified webhook that carries the integrator's own reference for the runner.

1. the operator gives the integrator a key (`kneeguard keys add --integrator NAME`);
2. the integrator registers its webhook endpoint and mints a connect link for its user `acme-7`;
3. the user opens the link in a browser: Garmin's consent (the sandbox), then their kneeguard page,
   where they tick what this integrator may see and save;
4. runs arrive, a warning is found, and the integrator's endpoint receives `finding.created`,
   verified with the `standardwebhooks` package, with `data.integrator_ref == "acme-7"`; the
   findings API answers the integrator with the same reference.
"""

from __future__ import annotations

import json

import pytest
import requests
from standardwebhooks import Webhook

from service.domain import clubs
from testkit.cdp import CHROMIUM, Browser
from testkit.receiver import Receiver
from tests.helpers import analyze_all, spike_history

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install -y chromium)")


@pytest.fixture
def settings(settings):
    return settings.with_overrides(webhook_allow_loopback=True)  # the receiver is on loopback


def test_from_key_to_a_verified_webhook_carrying_the_reference(runtime, live, fake_garmin):
    with runtime.db.session() as s:  # 1. what `kneeguard keys add --integrator` does
        _, key = clubs.issue_key(s, "integrator", "Acme Coaching", ["read", "admin"])
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"
    with Receiver() as rx:
        # 2. the endpoint, then a connect link for the integrator's user acme-7
        made = api.post(f"{live.url}/v1/endpoints", json={
            "url": rx.url, "events": ["finding.created"]}, timeout=10)
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        rx.secret = secret
        link = api.post(f"{live.url}/v1/connect-links",
                        json={"provider": "garmin", "ref": "acme-7"}, timeout=10).json()
        # 3. the user: link → Garmin consent (the sandbox answers for user g-1) → their page
        fake_garmin.login_user = fake_garmin.add_user()
        with Browser() as b:
            b.open(link["url"])
            assert b.eval("location.pathname + location.hash") == "/me#integrators"
            form = f"#integrator-{link['integrator_id']}"
            assert "Acme Coaching" in b.eval(f"document.querySelector('{form}').textContent")
            assert "sharing nothing" in b.eval(f"document.querySelector('{form}').textContent")
            b.eval(f"document.querySelector('{form} input[value=findings]').click()")
            b.submit(form)
            assert "sharing findings" in b.eval(f"document.querySelector('{form}').textContent")
            athlete_id = b.eval("fetch('/v1/whoami').then(r => r.json()).then(j => j.athlete_id)")
        # 4. runs arrive and are analysed; the warning goes out signed
        analyze_all(runtime, spike_history(runtime, athlete_id))
        runtime.queue.drain()
        hits = [h for h in rx.hits if h["method"] == "POST"]
    assert hits, "no webhook reached the integrator"
    for hit in hits:  # exactly as an integrator verifies (README, "For integrators")
        message = Webhook(secret).verify(hit["body"], hit["headers"])
        assert message["type"] == "finding.created"
        assert message["data"]["integrator_ref"] == "acme-7"
        assert message["data"]["athlete_id"] == athlete_id
    pulled = api.get(f"{live.url}/v1/athletes/{athlete_id}/findings", timeout=10).json()
    assert pulled["integrator_ref"] == "acme-7"
    assert {f["id"] for f in pulled["findings"]} == {
        json.loads(h["body"])["data"]["id"] for h in hits}
