"""`kneeguard sandbox`: the service wired to the bundled Strava and Garmin sandboxes.

Without a Strava or Garmin app, a newcomer can still try "connect once": the sandboxes run on
loopback ports in this process (the fakes the tests use, held to the providers' documents), the
service talks to them instead of strava.com and garmin.com, and its own data lives in
`<data dir>/sandbox`, rebuilt at every start. Click "Connect with Strava" on /login, answer the
sandbox's consent page: the account is made and the backfill fetched; a long run recorded on the
sandbox's /sandbox page is pushed, analysed, warned about on /me and noted on that activity.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import click

from service.infra.console import (
    _configure_logs,
    load_settings,
    port_free,
    quiet_logs_on_a_terminal,
    serve_settings,
)
from service.infra.settings import Settings


@click.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def sandbox(port: int) -> None:
    """Serve with the bundled Strava and Garmin sandboxes (no provider app needed)."""
    from service import create_app
    from service.infra.server import run

    port_free("127.0.0.1", port)
    stop = threading.Event()
    settings, strava, garmin = prepare(port, stop)
    settings = quiet_logs_on_a_terminal(settings)
    click.echo(_welcome(settings, strava), err=True)
    try:
        _configure_logs(settings)
        run(settings, "127.0.0.1", port, None, create_app)
    finally:
        stop.set()
        strava.stop()
        garmin.stop()


def prepare(port: int, stop: threading.Event, base: Settings | None = None):
    """Fresh sandbox settings and database, with both sandboxes started; (settings, strava,
    garmin)."""
    from service.infra import migrate
    from service.integrations.garmin.fake import sandbox as garmin_sandbox
    from service.integrations.strava.fake import sandbox as strava_sandbox

    settings = serve_settings(_own_world(base or load_settings(demo=True)), "127.0.0.1", port,
                              None)
    _fresh(Path(settings.data_dir))
    migrate.upgrade(settings.database_url)
    strava = strava_sandbox.start(settings.public_url)
    garmin = garmin_sandbox.start(settings.public_url, stop)
    settings = settings.with_overrides(**strava_sandbox.settings_for(strava),
                                       **garmin_sandbox.settings_for(garmin),
                                       notify_max_age_days=7)
    return settings, strava, garmin


def _own_world(settings: Settings) -> Settings:
    """`<data dir>/sandbox` beside the demo's folder: never real data, never the demo's."""
    folder = Path(settings.data_dir).parent / "sandbox" if settings.demo else \
        Path(settings.data_dir) / "sandbox"
    return replace(settings, data_dir=str(folder), redis_url=None,
                   database_url=f"sqlite:///{folder / 'sandbox.db'}",
                   email_outbox_dir=str(folder / "outbox"))


def _fresh(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ("sandbox.db", "sandbox.db-wal", "sandbox.db-shm"):
        (folder / name).unlink(missing_ok=True)
    for mail in (folder / "outbox").glob("*.eml"):
        mail.unlink()


def _welcome(settings: Settings, strava) -> str:
    return f"""kneeguard sandbox: serving {settings.public_url} with local Strava and Garmin sandboxes
  1. open {settings.public_url}/login, tick "add a short note", click "Connect with Strava"
  2. answer the sandbox's consent page (you are Sam Sandbox, with eight weeks of easy runs)
  3. your account is made; those runs are fetched and analysed onto /me (old ones send no email)
  4. on the sandbox's Strava page, {strava.url}/sandbox, press "Record a long run now":
     Strava pushes it, kneeguard warns you on /me and writes its note onto that activity
  Garmin: "Connect with Garmin" signs in a sandbox user with three real runs
  data: {settings.data_dir} (rebuilt at every start; DATABASE_URL and REDIS_URL are not used)"""
