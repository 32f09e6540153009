"""Helpers many test folders share (plain functions; fixtures live in conftest.py files).

What bench/ needs too lives in testkit instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from service.domain import accounts
from service.domain import endpoints as endpoints_svc
from service.infra import jobs, sweeper

CLI = str(Path(sys.executable).with_name("kneeguard"))
# Histories end near today: emails and notes only speak of recent findings.
START = (datetime.now(UTC) - timedelta(days=33)).replace(hour=7, minute=0, second=0, microsecond=0)


def athlete_with_token(runtime, email: str = "runner@example.com") -> tuple[str, dict]:
    athlete_id, token = accounts.add_athlete(runtime, email)
    return athlete_id, {"Authorization": f"Bearer {token}"}


def store_runs(runtime, athlete_id: str, km_by_day: dict[int, float]) -> list[str]:
    """Store synthetic runs (day offset → km) through the real ingestion path."""
    from service.domain import activities
    from testkit.synthetic import run_track

    ids = []
    with runtime.db.session() as s:
        for day, km in sorted(km_by_day.items()):
            result = activities.store_track(s, athlete_id, run_track(START + timedelta(days=day), km),
                                            "upload", f"day{day}.fit")
            ids += [c["id"] for c in result.created]
    return ids


def spike_history(runtime, athlete_id: str) -> list[str]:
    """Thirty days of 10 km runs every other day, then an 18 km run: a single-run spike."""
    days = {d: 10.0 for d in range(0, 30, 2)}
    days[31] = 18.0
    return store_runs(runtime, athlete_id, days)


def count(runtime, model, *where) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def analyze_all(runtime, ids: list[str]) -> None:
    for activity_id in ids:
        jobs.analyze_activity(runtime, activity_id)
    runtime.queue.drain()


def settle(runtime) -> None:
    """Run the queue, then the sweeper (a push handler's deliveries go out on its next round),
    then the queue again: what a worker and its sweeper thread would do."""
    runtime.queue.drain()
    sweeper.sweep(runtime)
    runtime.queue.drain()


def endpoint(runtime, url: str, events=("finding.created",)) -> tuple[str, str]:
    with runtime.db.session() as s:
        ep, secret = endpoints_svc.create(s, runtime.box, url=url, events=list(events),
                                          allow_loopback=True)
        return ep.id, secret


def cli_env(settings) -> dict:
    """The environment a `kneeguard` process needs to work on the test's database and queue."""
    env = dict(os.environ, DATABASE_URL=settings.database_url,
               KNEEGUARD_SECRET_KEY=settings.secret_key,
               KNEEGUARD_ENCRYPTION_KEYS=",".join(settings.encryption_keys),
               EMAIL_OUTBOX_DIR=settings.email_outbox_dir, WEBHOOK_ALLOW_LOOPBACK="true",
               LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def run_cli(settings, *args: str) -> dict:
    done = subprocess.run([CLI, *args], env=cli_env(settings), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
