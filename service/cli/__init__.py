"""The `kneeguard` command. Operator commands print JSON on stdout; usage errors exit 2."""

from __future__ import annotations

import os
import sys

import click

from service.cli.common import _configure_logs, _redact, _runtime, emit, load_settings, prepare_database
from service.infra.settings import Settings


@click.group()
def main() -> None:
    """kneeguard: warnings for the training patterns behind runners' knee pain."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", "web_workers", default=None, type=click.IntRange(1, 64),
              help="Web processes (default: 1 on the embedded default, 2×CPU+1 with Redis).")
def serve(host: str, port: int, web_workers: int | None) -> None:
    """Serve HTTP (and, on the embedded default, run the worker in-process)."""
    from service.infra.server import run

    settings = serve_settings(load_settings(), host, port, os.environ.get("PUBLIC_URL"))
    _configure_logs(settings)
    prepare_database(settings)
    click.echo(f"kneeguard: data in {settings.data_dir} · database "
               f"{_redact(settings.database_url)} · links point to {settings.public_url}",
               err=True)
    run(settings, host, port, web_workers)


def serve_settings(settings: Settings, host: str, port: int, public_url: str | None) -> Settings:
    """Without PUBLIC_URL, links in emails and invites point where this server listens."""
    if public_url and public_url.strip():
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return settings.with_overrides(public_url=f"http://{shown}:{port}")



@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--files", default=None, help="Folder with fit/ and gpx/ activity files "
              "(default: the shared test corpus beside a checkout).")
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
def demo(port: int, files: str | None, no_serve: bool) -> None:
    """A local demo: ten weeks of real runs re-dated to now, a warning, a club; then serve."""
    from service.domain import demo as demo_mod
    from service.infra import runtime
    from service.infra.server import run

    base = load_settings()
    data = os.path.join(base.data_dir, "demo")  # never mixed with real data
    settings = serve_settings(base.with_overrides(
        data_dir=data, database_url=f"sqlite:///{os.path.join(data, 'demo.db')}",
        email_outbox_dir=os.path.join(data, "outbox"), redis_url=None), "127.0.0.1", port, None)
    os.makedirs(data, mode=0o700, exist_ok=True)
    try:
        folder = demo_mod.find_files(files)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    prepare_database(settings)
    rt = runtime.build(settings)
    seeded = demo_mod.load(rt, folder)
    rt.close()
    click.echo(f"""kneeguard demo: {seeded['runs']} runs loaded into {data}
  open {settings.public_url}/login and paste the runner's token:
    {seeded['token']}
  the club dashboard: {settings.public_url}/clubs/{seeded['club_id']}
  the warning email: {settings.email_outbox_dir}""", err=True)
    if not no_serve:
        _configure_logs(settings)
        run(settings, "127.0.0.1", port, None)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process (no fork).")
def worker(burst: bool, simple: bool) -> None:
    """Run an RQ worker on REDIS_URL (ingest, analyze, notify, maintenance queues)."""
    from service.infra.worker import run_worker

    settings = load_settings()
    if settings.redis_url is None:
        raise click.UsageError("REDIS_URL is not set: `kneeguard serve` runs the embedded worker.")
    _configure_logs(settings)
    sys.exit(run_worker(settings, burst=burst, simple=simple))


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from service.infra import migrate

    settings = load_settings()
    from service.infra.settings import sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        click.echo(f"kneeguard: no database at {path}: creating a new, empty one", err=True)
    migrate.upgrade(settings.database_url, revision)
    emit({"database": _redact(settings.database_url), "revision": revision, "status": "ok"})


@main.group()
def athletes() -> None:
    """Manage athletes."""


@athletes.command("add")
@click.argument("email")
def athletes_add(email: str) -> None:
    """Create an athlete (or reissue the token of an existing one); prints {"id", "token"}."""
    from service.domain import accounts

    runtime = _runtime()
    try:
        athlete_id, token = accounts.add_athlete(runtime, email)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    emit({"id": athlete_id, "token": token})


def _register() -> None:
    # Explicit: every command group is named here. Command modules import their heavy
    # libraries inside the commands, so `kneeguard --help` stays fast.
    from service.cli import clubs, data, endpoints, jobs, keys
    from service.integrations.strava import cli as strava

    for command in (clubs.clubs, data.analyze, data.import_, endpoints.endpoints, jobs.jobs, keys.keys,
                    strava.strava):
        main.add_command(command)


_register()
