"""The Garmin sandbox of `kneeguard sandbox`: a FakeGarmin whose next consent signs in one user
with a few real FIT runs, its notifications sent to the local service as Garmin would send them
(a thread delivers what a backfill queued, every second)."""

from __future__ import annotations

import threading

from .provider import FakeGarmin

RUNS = ("msimms__20210507_run_garmin_fenix_6.fit", "msimms__20181108_run_garmin_fenix_3_hr.fit",
        "workoutizer__2019-09-14-17-22-05.fit")


def start(public_url: str, stop: threading.Event) -> FakeGarmin:
    fake = FakeGarmin().start()
    user = fake.add_user()
    fake.login_user = user
    for name in RUNS:
        fake.add_activity(user, name)
    fake.configure_receivers(public_url)
    threading.Thread(target=_deliver, args=(fake, stop), daemon=True,
                     name="garmin-sandbox-notifications").start()
    return fake


def _deliver(fake: FakeGarmin, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            fake.deliver_pending()
        except Exception:  # the service is starting or stopping: try again next second
            continue


def settings_for(fake: FakeGarmin) -> dict:
    return {"garmin_client_id": fake.client_id, "garmin_client_secret": fake.client_secret,
            "garmin_api_url": fake.api_url, "garmin_auth_url": fake.auth_url,
            "garmin_token_url": fake.token_url}
