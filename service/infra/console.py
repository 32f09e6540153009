"""What every command shares (the CLI's own modules and each provider's group): settings or a
usage error, JSON output, a migrated runtime. In infra so provider packages need not import the CLI
that lists them."""

from __future__ import annotations

import json
import os

import click

from service.infra.settings import Settings, SettingsError


def load_settings(*, demo: bool = False) -> Settings:
    """Settings from the environment; `demo`: the demo's world whatever KNEEGUARD_DEMO says (so a
    production DATABASE_URL without its secrets in the environment does not stop the demo)."""
    env = {**os.environ, "KNEEGUARD_DEMO": "1"} if demo else os.environ
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        raise click.UsageError(f"configuration error: {exc}") from None
    if settings.demo and not demo:  # say so: quietly using other data would be a surprise
        click.echo(f"kneeguard: KNEEGUARD_DEMO is set: using the demo's data in "
                   f"{settings.data_dir}", err=True)
    return settings


def emit(obj: object) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def _runtime():
    from service.infra import runtime

    settings = load_settings()
    prepare_database(settings)
    return runtime.build(settings)


def _configure_logs(settings: Settings) -> None:
    from service.infra import logs

    logs.configure(settings.log_level, settings.log_json)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def prepare_database(settings: Settings) -> None:
    """Migrate, saying so when that creates a new, empty database (a different working folder or
    data directory than last time is the usual reason)."""
    from service.infra.settings import sqlite_path

    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        click.echo(f"kneeguard: no database at {path}: creating a new, empty one (set "
                   "KNEEGUARD_DATA_DIR or DATABASE_URL to use existing data)", err=True)
    upgrade(settings)


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations; an unreachable database is one line a person can act on."""
    from service.infra import migrate

    try:
        migrate.upgrade(settings.database_url, revision)
    except Exception as exc:  # one line a person can act on, not a driver's traceback
        if _unreachable(exc):
            raise click.ClickException(
                f"cannot reach the database at {_redact(settings.database_url)}: "
                f"{_first_line(exc)} (is PostgreSQL running, and is DATABASE_URL right?)"
            ) from None
        raise


def _unreachable(exc: BaseException) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def port_free(host: str, port: int) -> None:
    """Fail before any migration or seeding when the port is taken (a second server): gunicorn
    would only say so after everything else had run."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is already in use (is kneeguard already running?): "
                    f"stop that server or choose another port with --port") from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def quiet_logs_on_a_terminal(settings: Settings) -> Settings:
    """A person at a terminal reads plain log lines; JSON logs are for log collectors (and stay
    the default whenever stderr is not a terminal, or LOG_JSON says so)."""
    import sys

    if sys.stderr.isatty() and "LOG_JSON" not in os.environ:
        return settings.with_overrides(log_json=False)
    return settings


def serve_settings(settings: Settings, host: str, port: int, public_url: str | None) -> Settings:
    """Without PUBLIC_URL, links in emails and invites point where this server listens."""
    if public_url and public_url.strip():
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return settings.with_overrides(public_url=f"http://{shown}:{port}")
