"""The `kneeguard` command. Operator commands print JSON on stdout; usage errors exit 2."""

from __future__ import annotations

import os
import sys

import click

from service.infra.console import (
    _configure_logs,
    _redact,
    _runtime,
    emit,
    load_settings,
    port_free,
    prepare_database,
    quiet_logs_on_a_terminal,
    serve_settings,
)


@click.group()
def main() -> None:
    """kneeguard: warnings for the training patterns behind runners' knee pain."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", "web_workers", default=None, type=click.IntRange(1, 64),
              help="Web processes (default: 1 on the embedded default, 2×CPU+1 with Redis).")
def serve(host: str, port: int, web_workers: int | None) -> None:
    """Serve HTTP (and, on the embedded default, run the worker in-process). With
    KNEEGUARD_DEMO=1: load the demo first, exactly as `kneeguard demo` does."""
    from service import create_app, preload
    from service.infra.server import run

    settings = load_settings()
    if settings.demo:
        from service.cli.demo import run_demo

        return run_demo(settings, host, port, None, serve=True, web_workers=web_workers)
    settings = quiet_logs_on_a_terminal(
        serve_settings(settings, host, port, os.environ.get("PUBLIC_URL")))
    port_free(host, port)
    click.echo(f"kneeguard: serving http://{host}:{port} · data in {settings.data_dir} · "
               f"database {_redact(settings.database_url)} · links point to "
               f"{settings.public_url}", err=True)
    _configure_logs(settings)
    prepare_database(settings)
    run(settings, host, port, web_workers, create_app, preload)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process (no fork).")
@click.option("--check", is_flag=True, help="Health check: exit 0 when a worker of this host "
              "(container) has a live heartbeat in Redis, else 1. Starts no worker.")
@click.option("--queues", "queue_names", default=None, metavar="Q1,Q2",
              help="Only these queues, in this order (default: notify,ingest,analyze,maintenance). "
              "`--queues notify` is a delivery worker: retries keep their schedule whatever "
              "analyses wait.")
def worker(burst: bool, simple: bool, check: bool, queue_names: str | None) -> None:
    """Run an RQ worker on REDIS_URL (ingest, analyze, notify, maintenance queues). Exits 0 on a
    normal stop (SIGTERM/SIGINT: the running job finishes first)."""
    from service.infra.worker import heartbeat_report, run_worker

    settings = load_settings()
    if settings.redis_url is None:
        raise click.UsageError("REDIS_URL is not set: `kneeguard serve` runs the embedded worker.")
    if check:
        report = heartbeat_report(settings.redis_url)
        emit(report)
        sys.exit(0 if report["healthy"] else 1)
    names = _queue_names(queue_names)
    _configure_logs(settings)
    sys.exit(run_worker(settings, burst=burst, simple=simple, queues=names))


def _queue_names(raw: str | None) -> tuple[str, ...] | None:
    from service.infra.jobs import QUEUES

    if raw is None:
        return None
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in QUEUES]
    if not names or unknown:
        raise click.UsageError(f"--queues: unknown {', '.join(unknown) or '(none given)'}; "
                               f"the queues are {','.join(QUEUES)}")
    return names


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from service.infra.console import upgrade

    settings = load_settings()
    from service.infra.settings import sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        click.echo(f"kneeguard: no database at {path}: creating a new, empty one", err=True)
    upgrade(settings, revision)
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
    from service.cli import clubs, data, demo, endpoints, importing, jobs, keys, sandbox
    from service.integrations.strava import cli as strava

    for command in (clubs.clubs, data.analyze, importing.import_, demo.demo, endpoints.endpoints, jobs.jobs,
                    keys.keys, sandbox.sandbox, strava.strava):
        main.add_command(command)


_register()
