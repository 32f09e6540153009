"""How much of an oversize body the real server takes before refusing it (issue 13, item 9).

Starts `kneeguard serve` (gunicorn, gthread, embedded default) on a free loopback port in a temp
folder, then sends 70 MB chunked POSTs to /webhooks/strava and /login and a 60 MB form with a
Content-Length to /login, and prints for each: status (or "closed"), MB the client got to send,
and seconds until the exchange ended.

    python bench/body_limits.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from service.infra.loopback import free_port

MB = 1024 * 1024


class Body:
    def __init__(self, total: int, chunk: int = 256 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    def __iter__(self):
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"[" * self.chunk


def attempt(url: str, body, **kw) -> tuple[str, float, float]:
    started = time.perf_counter()
    try:
        status = str(requests.post(url, data=body, timeout=120, **kw).status_code)
    except requests.ConnectionError:
        status = "closed"
    sent = body.sent / MB if isinstance(body, Body) else len(body) / MB
    return status, sent, time.perf_counter() - started


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise SystemExit("server did not start")


def main() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "STRAVA_CLIENT_ID": "1", "STRAVA_CLIENT_SECRET": "s",
               "LOG_LEVEL": "WARNING", "DATABASE_URL": f"sqlite:///{tmp}/kg.db"}
        env.pop("REDIS_URL", None)
        kneeguard = str(Path(sys.executable).parent / "kneeguard")
        server = subprocess.Popen([kneeguard, "serve", "--port", str(port)], cwd=tmp,
                                  env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_up(url)
            rows = [("70 MB chunked -> /webhooks/strava",
                     attempt(f"{url}/webhooks/strava", Body(70 * MB),
                             headers={"Content-Type": "application/json"})),
                    ("70 MB chunked -> /login",
                     attempt(f"{url}/login", Body(70 * MB),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})),
                    ("60 MB form (Content-Length) -> /login",
                     attempt(f"{url}/login", b"credential=" + b"x" * (60 * MB),
                             headers={"Content-Type": "application/x-www-form-urlencoded"}))]
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'request':42} {'status':>7} {'MB sent':>8} {'seconds':>8}")
    for name, (status, sent, secs) in rows:
        print(f"{name:42} {status:>7} {sent:8.1f} {secs:8.2f}")


if __name__ == "__main__":
    main()
