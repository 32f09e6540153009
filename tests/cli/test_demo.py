"""The demo loads real files, re-dated to the last ten weeks, through the real pipeline: every run
is analysed, the long run at the end is flagged, and the warning email is sent (to the outbox)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from service.domain import club_stats, demo
from service.infra.loopback import free_port
from service.infra.settings import Settings, SettingsError
from service.models import Activity, Delivery, Finding
from tests.helpers import invoke_cli

CLI = str(Path(sys.executable).with_name("kneeguard"))


def test_the_demo_history_ends_with_a_warning(runtime, data_dir):
    seeded = demo.load(runtime, demo.find_files(str(data_dir / "activities")))
    assert seeded["runs"] == len(demo.schedule(datetime.now(UTC)))
    assert seeded["clubmate_runs"] == sum(len(demo.mate_schedule(datetime.now(UTC), i, mate[-1]))
                                          for i, mate in enumerate(demo.CLUBMATES))
    with runtime.db.session() as s:
        assert set(s.scalars(select(Activity.status))) == {"analyzed"}  # clubmates' runs too
        runs = s.scalars(select(Activity).where(Activity.athlete_id == seeded["athlete_id"])).all()
        newest = max(runs, key=lambda a: a.start_time)
        assert datetime.now(UTC) - newest.start_time < timedelta(days=2)
        assert min(a.start_time for a in runs) > datetime.now(UTC) - timedelta(weeks=11)
        spike = s.scalar(select(Finding).where(Finding.activity_id == newest.id,
                                               Finding.rule == "single_run_spike"))
        assert spike is not None
        assert s.scalar(select(Delivery).where(Delivery.channel == "email")).status == "sent"
        rows = club_stats.dashboard(s, seeded["club_id"], club_stats.today())
    # The dashboard shows what consent changes: Dana at risk first, a name kept back, warnings
    # not shared.
    by_name = {r["name"]: r for r in rows}
    assert rows[0]["name"] == "Dana R." and rows[0]["risk"]["level"] in ("caution", "high")
    assert {"Sam K.", "Noor A."} <= set(by_name) and "Lee M." not in by_name
    assert len(rows) == 4 and sum(n.startswith("Runner ") for n in by_name) == 1
    assert by_name["Noor A."]["recent"] == "not shared"


def test_kneeguard_demo_1_is_the_demo_world_and_never_real_data(tmp_path):
    env = {"KNEEGUARD_DATA_DIR": str(tmp_path), "KNEEGUARD_DEMO": "1",
           "DATABASE_URL": "postgresql://prod@db.example.org/kneeguard",
           "REDIS_URL": "redis://queue.example.org:6379/0"}
    s = Settings.from_env(env)
    assert s.demo and s.redis_url is None
    assert s.database_url == f"sqlite:///{tmp_path / 'demo' / 'demo.db'}"
    assert s.email_outbox_dir == str(tmp_path / "demo" / "outbox")
    assert not Settings.from_env({"KNEEGUARD_DATA_DIR": str(tmp_path), "KNEEGUARD_DEMO": "0"}).demo
    with pytest.raises(SettingsError, match="KNEEGUARD_DEMO"):
        Settings.from_env({**env, "KNEEGUARD_DEMO": "please"})


def test_serve_with_kneeguard_demo_1_loads_the_demo_and_serves_it(tmp_path, data_dir):
    """As a newcomer runs it: a real `kneeguard serve` process, with a production database and
    Redis in the environment that must not be touched (they do not even exist)."""
    port = free_port()
    env = {**os.environ, "KNEEGUARD_DEMO": "1", "KNEEGUARD_DATA_DIR": str(tmp_path),
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "REDIS_URL": "redis://127.0.0.1:9/1"}
    env.pop("PUBLIC_URL", None)
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        token = _wait_for_token(proc, tmp_path / "serve.log", base)
        browser = requests.Session()
        login = browser.get(f"{base}/login", timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        me = browser.post(f"{base}/login", data={"csrf_token": csrf, "credential": token},
                          timeout=30)
        assert me.status_code == 200 and me.url == f"{base}/me"
        assert "Dana R." in me.text and 'type="file"' in me.text
        club = re.search(r"the club dashboard: (\S+)", log_text(tmp_path)).group(1)
        assert club.startswith(f"{base}/clubs/club_")
        assert (tmp_path / "demo" / "demo.db").is_file()
        assert not (tmp_path / "kneeguard.db").exists()  # nothing outside the demo's folder
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def log_text(folder) -> str:
    return (folder / "serve.log").read_text()


def _wait_for_token(proc, path, base: str) -> str:
    deadline = time.monotonic() + 240  # loading the demo takes seconds, more on a busy machine
    while time.monotonic() < deadline:
        assert proc.poll() is None, path.read_text()[-3000:]
        found = re.search(r"paste the runner's token:\s+(kg_\S+)", path.read_text())
        if found:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return found.group(1)
            except requests.ConnectionError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"the demo did not start: {path.read_text()[-3000:]}")


def test_each_demo_start_is_a_fresh_demo(tmp_path, data_dir):
    """Also with a production database (and none of its secrets) in the environment: the demo
    never uses it, so it does not need them either."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNEEGUARD_")}
    env.update(KNEEGUARD_DATA_DIR=str(tmp_path),
               DATABASE_URL="postgresql://prod@db.example.org/kneeguard")
    args = ["demo", "--no-serve", "--files", str(data_dir / "activities")]
    for _ in range(2):
        done = invoke_cli(env, *args)
        assert done.returncode == 0, done.stderr[-3000:]
    runs = len(demo.schedule(datetime.now(UTC)))
    assert f"{runs} runs of Dana R." in done.stderr
    mates = int(re.search(r"and (\d+) of\s+three clubmates", done.stderr).group(1))
    db = sqlite3.connect(tmp_path / "demo" / "demo.db")
    try:
        assert db.execute("SELECT count(*) FROM clubs").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM activities").fetchone() == (runs + mates,)
    finally:
        db.close()


def test_the_demo_finds_the_shared_corpus_without_files_from_any_folder(data_dir, tmp_path,
                                                                       monkeypatch):
    # `kneeguard demo` with no --files, started from an unrelated folder (as the README shows).
    monkeypatch.chdir(tmp_path)
    assert demo.find_files(None) == data_dir / "activities"
