"""One Strava push, end to end, traced: which of our files and packages it walks through.

A runner is connected to the fake Strava (its month of history backfilled), then one new long run
is pushed: the receiver, the ingest job, the analysis job and the delivery jobs (a signed webhook
to a loopback receiver, the email, the Strava note) run in this thread under a profiler hook that
records every call into `service/` or `workers/`. Printed: each call that crosses from one of our
packages into another, in order (the floor every layer stands on, infra, models and errors, is not
counted), how many files the push touched, and how often each package was entered. Packages are
`service/<role>` (a provider's package counts as one: `integrations/strava`) and
`workers/<library>`; the job entry points count as `workers`.

    python bench/push_walk.py            # the walk, the figures
    python bench/push_walk.py --files    # also every file, in order of first entry
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from testkit.walk import Walk, new_run, push


def setup(tmp: Path):
    from service import create_app
    from service.domain import accounts
    from service.domain import endpoints as endpoints_svc
    from service.infra import migrate
    from service.infra.loopback import LiveServer, free_port
    from service.infra.settings import Settings
    from service.integrations.strava.fake.provider import FakeStrava
    from testkit.receiver import Receiver

    fake, rx, port = FakeStrava().__enter__(), Receiver().__enter__(), free_port()
    url = f"sqlite:///{tmp / 'walk.db'}"
    migrate.upgrade(url)
    settings = Settings(
        database_url=url, redis_url=None, secret_key="walk", public_url=f"http://127.0.0.1:{port}",
        encryption_keys=(Fernet.generate_key().decode(),), email_outbox_dir=str(tmp / "outbox"),
        strava_client_id=fake.client_id, strava_client_secret=fake.client_secret,
        strava_api_url=fake.api_url, strava_oauth_url=fake.oauth_url, webhook_allow_loopback=True)
    app = create_app(settings)
    rt = app.extensions["kneeguard"]
    live = LiveServer(app, port=port).__enter__()
    athlete_id, token = accounts.add_athlete(rt, "runner@example.com")
    with rt.db.session() as s:
        _, secret = endpoints_svc.create(s, rt.box, url=rx.url, events=["finding.created"],
                                          allow_loopback=True)
    rx.secrets.append(secret)
    strava_athlete = fake.add_athlete()
    end = datetime.now(UTC) - timedelta(days=1)
    for i in range(8):
        fake.add_activity(strava_athlete, end - timedelta(days=4 * i), 10_000.0, climb_m=30.0)
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    browser = requests.Session()
    start = browser.get(f"{live.url}/connect/strava", params={"note": "1"}, allow_redirects=False,
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)
    params = fake.authorize(start.headers["Location"], athlete=strava_athlete)
    assert browser.get(f"{live.url}/connect/strava/callback", params=params,
                       timeout=30).status_code == 200
    rt.queue.drain()  # the backfill
    return app, rt, fake, strava_athlete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", action="store_true", help="list every file entered")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("REDIS_URL", None)
        app, rt, fake, athlete = setup(Path(tmp))
        walk = push(app, rt, new_run(fake, athlete))
        rt.close()
    report(walk, files=args.files)


def report(walk: Walk, *, files: bool) -> None:
    i = 0
    for stage in walk.stages:
        print(f"-- {stage.name}")
        for step in stage.steps:
            i += 1
            print(f"{i:3d}  {step.caller:28s} -> {step.package:28s} {step.module}")
    steps = [step for _, step in walk.steps()]
    entered = Counter(step.package for step in steps)
    print(f"\nfiles: {len(walk.files)}   entries into another package (infra, models, errors "
          f"not counted): {len(steps)}   load average: {os.getloadavg()[0]:.2f}")
    print("entered: " + ", ".join(f"{p} ×{n}" for p, n in entered.most_common()))
    for stage in walk.stages:
        twice = stage.twice()
        print(f"{stage.name}: " + (", ".join(f"{p} ×{n}" for p, n in twice.items())
                                   if twice else "each package above the pure libraries once"))
    if files:
        print("\n" + "\n".join(walk.files))


if __name__ == "__main__":
    main()
