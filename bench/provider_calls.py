"""Strava API calls spent to onboard a runner with a year of history, and per new activity.

    python bench/provider_calls.py            # 300 runs over a year
    python bench/provider_calls.py --quick    # 60 runs

Everything in-process on loopback: FakeStrava (which counts every request), the app on a
LiveServer (the fake calls our webhook over HTTP), a fresh SQLite file and the embedded queue.
Targets: onboarding ≤ 3 list calls + streams only for the last 35 days' runs; ≤ 4 calls per new
activity including the description note. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime, timedelta

import requests
from cryptography.fernet import Fernet

from service import create_app
from service.domain import accounts
from service.infra import migrate
from service.infra.loopback import LiveServer, free_port
from service.infra.settings import Settings
from service.integrations.strava.fake.provider import FakeStrava

RUN_TYPES = ("Run", "TrailRun", "VirtualRun")


def _app(fake: FakeStrava, folder: str, port: int):
    url = f"sqlite:///{folder}/bench.db"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key="bench",
                        encryption_keys=(Fernet.generate_key().decode(),),
                        strava_client_id=fake.client_id, strava_client_secret=fake.client_secret,
                        strava_verify_token="bench", strava_api_url=fake.api_url,
                        strava_oauth_url=fake.oauth_url, public_url=f"http://127.0.0.1:{port}",
                        email_outbox_dir=f"{folder}/outbox")
    return create_app(settings)


def _connect(base: str, fake: FakeStrava, token: str, athlete: int) -> None:
    start = requests.get(f"{base}/connect/strava", params={"token": token, "note": "1"},
                         allow_redirects=False, timeout=10)
    params = fake.authorize(start.headers["Location"], athlete=athlete)
    done = requests.get(f"{base}/connect/strava/callback", params=params, timeout=30)
    done.raise_for_status()


def _expected_streams(fake: FakeStrava, athlete: int) -> int:
    """Runs of the last 35 days that have a recording (manual entries have no streams)."""
    since = datetime.now(UTC) - timedelta(days=35)
    return sum(1 for a in fake.activities.values()
               if a["athlete"]["id"] == athlete and a["sport_type"] in RUN_TYPES
               and not a["manual"]
               and datetime.fromisoformat(a["start_date"].replace("Z", "+00:00")) >= since)


def _calls(fake: FakeStrava) -> dict:
    return {"list": fake.count("GET", "/api/v3/athlete/activities"),
            "streams": sum(1 for m, p in fake.calls if m == "GET" and p.endswith("/streams")),
            "activity_get": sum(1 for m, p in fake.calls if m == "GET"
                                and p.startswith("/api/v3/activities/")
                                and not p.endswith("/streams")),
            "activity_put": fake.count("PUT", "/api/v3/activities/"),
            "api_total": fake.count(None, "/api/v3/"),
            "oauth": fake.count(None, "/oauth/")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 60 if args.quick else 300
    with FakeStrava() as fake, tempfile.TemporaryDirectory() as folder:
        fake.limits = {"overall": (10**6, 10**7), "read": (10**6, 10**7)}
        port = free_port()
        app = _app(fake, folder, port)
        runtime = app.extensions["kneeguard"]
        with LiveServer(app, port=port) as live:
            athlete = fake.add_athlete()
            fake.add_year_of_runs(athlete, runs=runs)
            fake.subscribe_directly(f"{live.url}/webhooks/strava")
            _, token = accounts.add_athlete(runtime, "bench@example.com")
            _connect(live.url, fake, token, athlete)
            runtime.queue.drain()
            onboarding = _calls(fake)
            expected = _expected_streams(fake, athlete)
            fake.reset_calls()
            long_run = fake.add_activity(athlete, datetime.now(UTC) - timedelta(minutes=30),
                                         30_000.0, climb_m=40.0)
            fake.send_event("activity", long_run, "create", athlete)
            runtime.queue.drain()
            per_activity = _calls(fake)
            noted = "kneeguard" in (fake.activities[long_run]["description"] or "")
        runtime.close()
    print(json.dumps({
        "runs_in_history": runs,
        "onboarding": onboarding, "recent_runs_with_streams": expected,
        "onboarding_ok": onboarding["list"] <= 3 and onboarding["streams"] <= expected,
        "new_activity": per_activity, "note_written": noted,
        "new_activity_ok": per_activity["api_total"] <= 4,
    }, indent=2))


if __name__ == "__main__":
    main()
