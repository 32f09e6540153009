"""Provider API calls spent to onboard a runner with history, and per new activity, for each provider.

    python bench/provider_calls.py            # Strava: 300 runs over a year; Garmin: 40 over 200 days
    python bench/provider_calls.py --quick    # 60 and 12

Everything in-process on loopback: the providers' sandboxes (FakeStrava, FakeGarmin: each counts
every request it answers), the app on a LiveServer (the sandboxes call our receivers over HTTP), a
fresh SQLite file and the embedded queue. Targets:
- Strava: onboarding ≤ 3 list calls + streams only for the last 35 days' runs; ≤ 4 calls per new
  activity including the description note.
- Garmin: onboarding = one backfill request per 30 days of GARMIN_BACKFILL_DAYS (90 → 3) + one
  download per file Garmin announces; 1 call (the download) per new activity.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet

from service import create_app
from service.domain import accounts
from service.domain.demo import EASY
from service.infra import migrate
from service.infra.loopback import LiveServer, free_port
from service.infra.settings import Settings
from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.strava.fake.provider import FakeStrava

RUN_TYPES = ("Run", "TrailRun", "VirtualRun")
FIT_RUNS = [name.removeprefix("fit/") for name in EASY if name.startswith("fit/")]  # the demo's


def _app(folder: str, port: int, **provider: str):
    url = f"sqlite:///{folder}/bench.db"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key="bench",
                        encryption_keys=(Fernet.generate_key().decode(),),
                        public_url=f"http://127.0.0.1:{port}",
                        email_outbox_dir=f"{folder}/outbox", **provider)
    return create_app(settings)


def _browser(runtime) -> requests.Session:
    """A signed-in runner's browser: the token goes in a header, never in a URL."""
    _, token = accounts.add_athlete(runtime, "bench@example.com")
    browser = requests.Session()
    browser.headers["Authorization"] = f"Bearer {token}"
    return browser


# -- Strava ----------------------------------------------------------------------------------------


def _strava_connect(base: str, fake: FakeStrava, browser: requests.Session, athlete: int) -> None:
    start = browser.get(f"{base}/connect/strava", params={"note": "1"}, allow_redirects=False,
                        timeout=10)
    params = fake.authorize(start.headers["Location"], athlete=athlete)
    browser.get(f"{base}/connect/strava/callback", params=params, timeout=30).raise_for_status()


def _expected_streams(fake: FakeStrava, athlete: int) -> int:
    """Runs of the last 35 days that have a recording (manual entries have no streams)."""
    since = datetime.now(UTC) - timedelta(days=35)
    return sum(1 for a in fake.activities.values()
               if a["athlete"]["id"] == athlete and a["sport_type"] in RUN_TYPES
               and not a["manual"]
               and datetime.fromisoformat(a["start_date"].replace("Z", "+00:00")) >= since)


def _strava_calls(fake: FakeStrava) -> dict:
    return {"list": fake.count("GET", "/api/v3/athlete/activities"),
            "streams": sum(1 for m, p in fake.calls if m == "GET" and p.endswith("/streams")),
            "activity_get": sum(1 for m, p in fake.calls if m == "GET"
                                and p.startswith("/api/v3/activities/")
                                and not p.endswith("/streams")),
            "activity_put": fake.count("PUT", "/api/v3/activities/"),
            "api_total": fake.count(None, "/api/v3/"),
            "oauth": fake.count(None, "/oauth/")}


def _strava_settings(fake: FakeStrava) -> dict:
    return {"strava_client_id": fake.client_id, "strava_client_secret": fake.client_secret,
            "strava_verify_token": "bench", "strava_api_url": fake.api_url,
            "strava_oauth_url": fake.oauth_url}


def _strava_new_run(fake: FakeStrava, runtime, athlete: int) -> tuple[dict, bool]:
    fake.reset_calls()
    long_run = fake.add_activity(athlete, datetime.now(UTC) - timedelta(minutes=30), 30_000.0,
                                 climb_m=40.0)
    fake.send_event("activity", long_run, "create", athlete)
    runtime.queue.drain()
    return _strava_calls(fake), "kneeguard" in (fake.activities[long_run]["description"] or "")


def strava(runs: int, folder: str) -> dict:
    with FakeStrava() as fake:
        fake.limits = {"overall": (10**6, 10**7), "read": (10**6, 10**7)}
        port = free_port()
        app = _app(folder, port, **_strava_settings(fake))
        runtime = app.extensions["kneeguard"]
        with LiveServer(app, port=port) as live:
            athlete = fake.add_athlete()
            fake.add_year_of_runs(athlete, runs=runs)
            fake.subscribe_directly(f"{live.url}/webhooks/strava")
            _strava_connect(live.url, fake, _browser(runtime), athlete)
            runtime.queue.drain()
            onboarding, expected = _strava_calls(fake), _expected_streams(fake, athlete)
            per_activity, noted = _strava_new_run(fake, runtime, athlete)
        runtime.close()
    return {"runs_in_history": runs, "onboarding": onboarding,
            "recent_runs_with_streams": expected,
            "onboarding_ok": onboarding["list"] <= 3 and onboarding["streams"] <= expected,
            "new_activity": per_activity, "note_written": noted,
            "new_activity_ok": per_activity["api_total"] <= 4}


# -- Garmin ----------------------------------------------------------------------------------------


def _garmin_connect(base: str, fake: FakeGarmin, browser: requests.Session, user: str) -> None:
    fake.login_user = user
    start = browser.get(f"{base}/connect/garmin", allow_redirects=False, timeout=10)
    consent = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(consent.headers["Location"])
    browser.get(f"{base}{back.path}?{back.query}", timeout=30).raise_for_status()


def _garmin_history(fake: FakeGarmin, user: str, runs: int) -> int:
    """Real running FIT files, one every 5 days back from yesterday; returns how many fall inside
    the default 90-day backfill (the files Garmin will announce)."""
    now = datetime.now(UTC)
    for i in range(runs):
        start = int((now - timedelta(days=1 + 5 * i)).timestamp())
        fake.add_activity(user, FIT_RUNS[i % len(FIT_RUNS)], summary={"startTimeInSeconds": start})
    return sum(1 for i in range(runs) if 1 + 5 * i < 90)


def _garmin_calls(fake: FakeGarmin) -> dict:
    paths = [c.path for c in fake.calls]
    return {"backfill": paths.count("/wellness-api/rest/backfill/activities"),
            "file_download": paths.count("/wellness-api/rest/activityFile"),
            "user": sum(1 for p in paths if p.startswith("/wellness-api/rest/user/")),
            "oauth": sum(1 for p in paths if "oauth" in p.lower()),
            "api_total": sum(1 for p in paths if p.startswith("/wellness-api/"))}


def _garmin_settings(fake: FakeGarmin) -> dict:
    return {"garmin_client_id": fake.client_id, "garmin_client_secret": fake.client_secret,
            "garmin_api_url": fake.api_url, "garmin_auth_url": fake.auth_url,
            "garmin_token_url": fake.token_url}


def _garmin_new_run(fake: FakeGarmin, runtime, user: str) -> dict:
    fake.calls.clear()
    now = int(datetime.now(UTC).timestamp())
    run = fake.add_activity(user, FIT_RUNS[0], summary={"startTimeInSeconds": now})
    fake.send_activity_files_ping(user, [run])
    runtime.queue.drain()
    return _garmin_calls(fake)


def garmin(runs: int, folder: str) -> dict:
    with FakeGarmin() as fake:
        app = _app(folder, free_port(), **_garmin_settings(fake))
        runtime = app.extensions["kneeguard"]
        with LiveServer(app) as live:
            fake.configure_receivers(live.url)
            user = fake.add_user()
            announced = _garmin_history(fake, user, runs)
            _garmin_connect(live.url, fake, _browser(runtime), user)
            runtime.queue.drain()
            fake.deliver_pending()  # what Garmin sends after the backfill requests
            runtime.queue.drain()
            onboarding = _garmin_calls(fake)
            per_activity = _garmin_new_run(fake, runtime, user)
        runtime.close()
    return {"runs_in_history": runs, "onboarding": onboarding, "files_announced": announced,
            "onboarding_ok": onboarding["backfill"] == 3
            and onboarding["file_download"] == announced,
            "new_activity": per_activity, "new_activity_ok": per_activity["api_total"] == 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        result = {"strava": strava(60 if args.quick else 300, a),
                  "garmin": garmin(12 if args.quick else 40, b)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
