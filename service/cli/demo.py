"""`kneeguard demo`, and `kneeguard serve` with KNEEGUARD_DEMO=1: the same local demo.

Each start rebuilds the demo in its own folder (`<data dir>/demo`), so its history always ends
yesterday; what a visitor uploads during a demo is not kept. Real data is never touched.
"""

from __future__ import annotations

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
@click.option("--files", default=None, help="Folder with fit/ and gpx/ activity files "
              "(default: the shared test corpus beside a checkout).")
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
def demo(port: int, files: str | None, no_serve: bool) -> None:
    """A local demo: ten weeks of real runs re-dated to now, a warning, a club; then serve."""
    run_demo(load_settings(demo=True), "127.0.0.1", port, files, serve=not no_serve)


def run_demo(settings: Settings, host: str, port: int, files: str | None, *, serve: bool,
             web_workers: int | None = None) -> None:
    from service import create_app, preload
    from service.domain import demo as demo_mod
    from service.infra import migrate, runtime
    from service.infra.server import run

    settings = quiet_logs_on_a_terminal(serve_settings(settings, host, port, None))
    try:
        folder = demo_mod.find_files(files)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    if serve:
        port_free(host, port)
    token = _kept_token(Path(settings.data_dir))
    fresh_start(Path(settings.data_dir))
    migrate.upgrade(settings.database_url)
    rt = runtime.build(settings)
    seeded = demo_mod.load(rt, folder, token=token)
    rt.close()
    _keep_token(Path(settings.data_dir), seeded["token"])
    click.echo(f"""kneeguard demo: {seeded['runs']} runs of Dana R. and {seeded['clubmate_runs']} of \
three clubmates loaded into {settings.data_dir}
  (its own database, rebuilt at every start; DATABASE_URL and REDIS_URL are not used)
  open {settings.public_url}/login and paste the runner's token:
    {seeded['token']}
  the club dashboard: {settings.public_url}/clubs/{seeded['club_id']}
  the warning email: {settings.email_outbox_dir}""", err=True)
    if serve:
        _configure_logs(settings)
        run(settings, host, port, web_workers, create_app, preload)


TOKEN_FILE = "demo-token"  # the demo runner's token, the same at every start (0600)


def _kept_token(folder: Path) -> str | None:
    path = folder / TOKEN_FILE
    return path.read_text().strip() or None if path.is_file() else None


def _keep_token(folder: Path, token: str) -> None:
    """`demo --no-serve` prints a token; the next `demo` rebuilds the database, and must not
    make that token stale: the demo runner keeps it (a demo-only, local credential)."""
    import os

    path = folder / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)


def fresh_start(folder: Path) -> None:
    """Forget the previous demo: its database (with SQLite's -wal/-shm) and its emails."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (folder / name).unlink(missing_ok=True)
    for mail in (folder / "outbox").glob("*.eml"):
        mail.unlink()
