"""The command line's first minutes (issue 25, "minor, each seen"): a busy port fails before
anything runs, the human start-up line comes first, an unreachable PostgreSQL is one line, every
configuration error at once, `demo --files` that does not exist is an error, and the token
`demo --no-serve` prints still works after the next start."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from service.infra.settings import Settings, SettingsError
from tests.helpers import CLI, invoke_cli


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(KNEEGUARD_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def _run(args, env, timeout=300) -> subprocess.CompletedProcess:
    """`serve` in its own process: in this one, a regression would leave a server running."""
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_second_server_on_a_busy_port_fails_first_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run(["serve", "--port", str(port)], _env(tmp_path))
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "data" / "kneeguard.db").exists()  # no migration ran


def test_an_unreachable_postgresql_is_one_clear_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(tmp_path, DATABASE_URL=f"postgresql://kg:secret@127.0.0.1:{port}/kg",
               KNEEGUARD_SECRET_KEY="x", KNEEGUARD_ENCRYPTION_KEYS=_fernet())
    done = invoke_cli(env, "db", "upgrade")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the database at postgresql" in lines[0], done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr


def _fernet() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def test_every_configuration_error_is_reported_at_once(tmp_path):
    env = {"HOME": str(tmp_path), "LOG_LEVEL": "LOUD", "KNEEGUARD_SWEEP_INTERVAL": "soon",
           "REDIS_URL": "http://localhost"}
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    for name in ("LOG_LEVEL", "KNEEGUARD_SWEEP_INTERVAL", "REDIS_URL"):
        assert name in str(err.value)
    done = invoke_cli(_env(tmp_path, **{k: v for k, v in env.items() if k != "HOME"}),
                      "db", "upgrade")
    assert done.returncode == 2 and "3 variables are wrong" in done.stderr


def test_demo_files_that_do_not_exist_is_an_error(tmp_path):
    done = invoke_cli(_env(tmp_path), "demo", "--files", str(tmp_path / "nonexistent"),
                      "--no-serve")
    assert done.returncode == 2
    assert "nonexistent" in done.stderr and "no demo activity files there" in done.stderr


def test_the_demo_token_printed_by_no_serve_stays_valid_after_the_next_start(tmp_path,
                                                                            data_dir):
    env = _env(tmp_path)
    first = invoke_cli(env, "demo", "--no-serve", "--files", str(data_dir / "activities"))
    assert first.returncode == 0, first.stderr[-2000:]
    token = next(w for w in first.stderr.split() if w.startswith("kg_"))
    second = invoke_cli(env, "demo", "--no-serve", "--files", str(data_dir / "activities"))
    assert token in second.stderr  # the same token, and the rebuilt database accepts it
    from service import create_app

    settings = Settings.from_env({**env, "KNEEGUARD_DEMO": "1"})
    app = create_app(settings)
    try:
        r = app.test_client().get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert r.get_json()["kind"] == "athlete"
    finally:
        app.extensions["kneeguard"].close()


def test_serve_prints_the_human_line_first(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([CLI, "serve", "--port", str(port)], env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        first = proc.stderr.readline()
    finally:
        os.killpg(proc.pid, 2)
        # Read the rest of stderr while it stops: a pipe nobody drains fills up (64 KiB) with the
        # shutdown's log lines and the server then blocks on a write and never exits.
        proc.communicate(timeout=60)
    assert first.startswith(f"kneeguard: serving http://127.0.0.1:{port}"), first


def _free_port() -> int:
    from service.infra.loopback import free_port

    return free_port()
