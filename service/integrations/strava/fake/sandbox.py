"""The Strava sandbox of `kneeguard sandbox`: a FakeStrava with a consent page a person answers,
one athlete with eight weeks of ordinary runs (what a connect backfills, read as background), and
the push subscription pointed at the local service: the sandbox's "Record a long run now" button
(/sandbox) adds a run far longer than usual and pushes it, as Strava does after an upload, and the
service answers with a warning and a note on that activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .provider import FakeStrava

WEEKS = 8  # what a connect fetches (connection.HISTORY_DAYS = 56 days)
VERIFY_TOKEN = "sandbox-verify-token"


def start(public_url: str) -> FakeStrava:
    fake = FakeStrava().start()
    fake.consent_page = True
    athlete = fake.add_athlete(firstname="Sam", lastname="Sandbox")
    fake.sandbox_athlete = athlete
    yesterday = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0) - \
        timedelta(days=1)
    for i, day in enumerate(range(WEEKS * 7 - 2, 0, -3)):  # an easy run every three days
        fake.add_activity(athlete, yesterday - timedelta(days=day - 1), (7.0 + i % 4) * 1000,
                          name=f"Easy run {i + 1}", climb_m=40.0 + 10 * (i % 3))
    fake.subscribe_directly(f"{public_url}/webhooks/strava")
    return fake


def settings_for(fake: FakeStrava) -> dict:
    """What the service needs to talk to this sandbox (Settings field names)."""
    assert fake.subscription is not None, "seed() subscribes the sandbox before it is served"
    return {"strava_client_id": fake.client_id, "strava_client_secret": fake.client_secret,
            "strava_verify_token": VERIFY_TOKEN, "strava_api_url": fake.api_url,
            "strava_oauth_url": fake.oauth_url,
            "strava_subscription_id": fake.subscription["id"]}
