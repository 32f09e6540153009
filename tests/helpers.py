"""Helpers many test folders share (plain functions; fixtures live in conftest.py files).

What bench/ needs too lives in testkit instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
from dataclasses import dataclass
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


@dataclass
class Ran:
    """What a `kneeguard` command left: shaped like subprocess.CompletedProcess so a test reads
    the same whether the command ran in this process or in its own."""

    returncode: int
    stdout: str
    stderr: str


def invoke_cli(env: dict, *args: str, cwd: Path | None = None) -> Ran:
    """Run `kneeguard ARGS` in this process through click's test runner, with `env` as the whole
    environment (the CLI reads its settings from os.environ, nowhere else). A process costs ~0.9
    CPU-s of imports; use one only where the process is what the test is about (docs/decisions.md,
    "CI under 8 minutes"). The runtime singleton, root logging, os.environ and the working folder
    are put back afterwards, and every runtime the command built is closed."""
    from click.testing import CliRunner

    from service.cli import main
    from service.infra import runtime

    built: list = []
    real_build, saved_current = runtime.build, runtime._current

    def build(settings):
        built.append(real_build(settings))
        return built[-1]

    root = logging.getLogger()
    saved_handlers, saved_level, saved_env = root.handlers[:], root.level, dict(os.environ)
    runtime.build = build
    try:
        os.environ.clear()
        os.environ.update(env)
        with contextlib.chdir(cwd or Path.cwd()):
            result = CliRunner().invoke(main, list(args), prog_name="kneeguard")
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        runtime.build, runtime._current = real_build, saved_current
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for rt in built:
            rt.close()
    return Ran(result.exit_code, result.stdout, result.stderr + _traceback(result))


def _traceback(result) -> str:
    """An uncaught exception, as the process would have printed it (CliRunner keeps it aside)."""
    if result.exc_info is None or isinstance(result.exception, SystemExit):
        return ""
    return "".join(traceback.format_exception(*result.exc_info))


def run_cli(settings, *args: str) -> dict:
    done = invoke_cli(cli_env(settings), *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
