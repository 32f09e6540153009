"""`kneeguard serve` as the web container runs it: gunicorn on Redis, stopped by SIGTERM.

A stop answers the requests in flight, exits 0, and ends each web process as soon as its last
request is answered. Before, every web process then ran the interpreter's teardown over the heap
it shares with the master (copy-on-write, all of them at once): `docker stop` of web took ~10 s
on a loaded machine. `python bench/stop.py web` prints the stop time; here only its cause is
checked (no timed asserts): which processes still run that teardown.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from service.infra import server
from service.infra.loopback import free_port
from testkit.processes import serves_health
from tests.deploy.processes import wait_for

CLI = str(Path(sys.executable).with_name("kneeguard"))

# Loaded by every process the test starts (PYTHONPATH): an atexit hook runs only in a process
# that goes through the interpreter's teardown, and leaves a file named after its pid.
TEARDOWN_MARK = """
import atexit, os
def _mark():
    open(os.path.join(os.environ["KG_TEST_TEARDOWNS"], str(os.getpid())), "w").close()
atexit.register(_mark)
"""


def serve(tmp_path: Path, redis_url: str, port: int) -> subprocess.Popen:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(TEARDOWN_MARK)
    (tmp_path / "teardowns").mkdir()
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env = dict(base, REDIS_URL=redis_url, KNEEGUARD_DATA_DIR=str(tmp_path / "data"),
               LOG_LEVEL="WARNING", PYTHONPATH=str(site),
               KG_TEST_TEARDOWNS=str(tmp_path / "teardowns"))
    return subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def web_processes(master: int) -> int:
    return len(Path(f"/proc/{master}/task/{master}/children").read_text().split())


def first_answer(conn: socket.socket) -> bytes:
    """One response, read to its end (Content-Length), the connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += conn.recv(4096)
    return head


def test_a_stop_answers_the_request_in_flight_and_no_web_process_runs_the_teardown(tmp_path,
                                                                                      redis_url):
    port = free_port()
    proc = serve(tmp_path, redis_url, port)
    try:
        wait_for(lambda: serves_health(port) or proc.poll() is not None, "the web service")
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        # A kept-alive connection, so a web process holds it, then a request whose body is
        # still on its way when the stop begins (the body is read before any view runs).
        conn = socket.create_connection(("127.0.0.1", port), timeout=60)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert first_answer(conn).startswith(b"HTTP/1.1 200")
        conn.sendall(b"POST /login HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n5\r\ncrede\r\n")
        wait_for(lambda: web_processes(proc.pid) == 2, "both web processes")
        proc.send_signal(signal.SIGTERM)
        # The idle web process ends at once: the stop has reached the one answering our request.
        wait_for(lambda: web_processes(proc.pid) < 2, "the idle web process to stop")
        conn.sendall(b"7\r\nntial=x\r\n0\r\n\r\n")
        reply = conn.recv(64)
        assert reply.startswith(b"HTTP/1.1 4"), reply  # answered (a login form without its CSRF token)
        assert proc.wait(timeout=120) == 0, proc.stderr.read()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    # Only the master went through the teardown; its web processes ended without it.
    assert [p.name for p in (tmp_path / "teardowns").iterdir()] == [str(proc.pid)]


@pytest.mark.parametrize("code", [3, 4, -1, "boom"])  # boot error, app load error, crash
def test_a_web_process_that_failed_keeps_gunicorns_exit_status(monkeypatch, code):
    ended: list[int] = []
    monkeypatch.setattr(os, "_exit", ended.append)
    with pytest.raises(SystemExit):
        try:
            sys.exit(code)
        finally:
            server.end_worker(None, object())
    assert ended == []


def test_a_web_process_that_stopped_normally_ends_at_once(monkeypatch):
    ended: list[int] = []
    monkeypatch.setattr(os, "_exit", ended.append)
    with pytest.raises(SystemExit):
        try:
            sys.exit(0)
        finally:
            server.end_worker(None, object())
    assert ended == [0]


def test_a_web_process_freezes_what_it_keeps_so_full_collections_skip_it():
    """A full garbage collection walks every tracked object; with the imports and the app in
    reach each one cost a big page ~60 ms (bench/dashboard.py's `/me` p95). Once a web process
    has built its app, what is alive then is frozen: collections skip it; later objects are
    collected as before."""
    import gc
    from types import SimpleNamespace

    from service.infra.settings import Settings

    app = SimpleNamespace(extensions={"kneeguard": SimpleNamespace(
        queue=SimpleNamespace(embedded=False))})
    web = server._Gunicorn(Settings(), {"bind": "127.0.0.1:1"}, lambda settings: app)
    gc.unfreeze()
    try:
        assert web.load() is app
        assert gc.get_freeze_count() > 0, "the app and the imports are still scanned"
    finally:
        gc.unfreeze()


def test_a_second_quit_signal_during_the_first_is_ignored():
    """Ctrl+C signals the whole process group: a web process gets SIGINT from the terminal and
    SIGQUIT from the master a moment later. gunicorn's gthread quit handler takes a lock its own
    re-entry waits for, so a second signal inside the first deadlocked the process until the master
    killed it 30 s later. Here the master's SIGQUIT lands while the handler of SIGINT runs."""
    import signal

    from service.infra.server import gunicorn_options, quit_once

    assert gunicorn_options("127.0.0.1", 8000, 1, "INFO")["post_worker_init"] is quit_once
    calls = []

    class Worker:  # what the hook uses of gunicorn's worker: its quit handler
        def handle_quit(self, sig, frame):
            calls.append(sig)
            if len(calls) == 1:
                signal.getsignal(signal.SIGQUIT)(signal.SIGQUIT, None)

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGQUIT)}
    try:
        quit_once(Worker())
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert calls == [signal.SIGINT]
