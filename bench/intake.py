"""Strava push intake under load: POST /webhooks/strava on gunicorn + PostgreSQL + Redis.

    python bench/intake.py            # 200 requests/s for 60 s
    python bench/intake.py --quick    # 200 requests/s for 10 s

Starts `kneeguard serve` (gunicorn, production shape) on a free port against BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/kneeguard_bench, created if missing, its tables
emptied: never point it at real data) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/15,
flushed). No worker runs, so every request is the receiver's whole job: validate, one INSERT,
one enqueue. Each request is a distinct event of a connected athlete. The load generator is
open-loop (requests are sent on schedule, whether or not earlier ones came back), so a slow
server shows up as latency, not as a lower rate. Target: p99 ≤ 50 ms, 0 errors. Prints JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

import requests
from cryptography.fernet import Fernet

from service.infra.loopback import free_port
from service.infra.settings import Settings

DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/kneeguard_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
OWNER = 134815
THREADS = 32


def _prepare(env: dict) -> None:
    """Fresh schema, empty tables, flushed Redis, and one connected athlete."""
    import psycopg
    import redis
    from sqlalchemy import text

    from service.infra import migrate, runtime
    from service.models import Athlete, Base, Connection

    admin = DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        name = DB.rsplit("/", 1)[1]
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    settings = Settings.from_env(env)
    migrate.upgrade(settings.database_url)
    rt = runtime.build(settings)
    with rt.db.engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    redis.Redis.from_url(REDIS).flushdb()
    with rt.db.session() as s:
        athlete = Athlete(email="bench@example.com", preferences={}, thresholds={})
        s.add(athlete)
        s.flush()
        s.add(Connection(athlete_id=athlete.id, provider="strava", provider_user_id=str(OWNER),
                         access_token_enc=rt.box.encrypt("a"), scopes=[], details={}))
    rt.close()


def _start_server(env: dict, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from service.cli import main; main()", "serve",
           "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env, "LOG_LEVEL": "WARNING"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def _drive(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop: request i goes out at t0 + i/rate, from THREADS threads taking turns."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5

    def worker(offset: int) -> None:
        # http.client with keep-alive: requests' per-call overhead would make the load generator,
        # not the server, the bottleneck on a small machine.
        host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        for i in range(offset, total, THREADS):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps({"aspect_type": "create", "event_time": 1_700_000_000 + i,
                               "object_id": 10_000_000 + i, "object_type": "activity",
                               "owner_id": OWNER, "subscription_id": 1, "updates": {}})
            start = time.perf_counter()
            ok = _post(conn, body)
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                errors[0] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def _post(conn: http.client.HTTPConnection, body: str) -> bool:
    try:
        conn.request("POST", "/webhooks/strava", body=body,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    except (OSError, http.client.HTTPException):
        conn.close()  # reconnects on the next request
        return False


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    seconds = 10.0 if args.quick else 60.0
    env = {"DATABASE_URL": DB, "REDIS_URL": REDIS, "KNEEGUARD_SECRET_KEY": "bench",
           "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "STRAVA_CLIENT_ID": "1", "STRAVA_CLIENT_SECRET": "bench",
           "STRAVA_VERIFY_TOKEN": "bench", "LOG_JSON": "false"}
    _prepare(env)
    port = free_port()
    server = _start_server(env, port)
    try:
        started = time.perf_counter()
        latencies, errors = _drive(f"http://127.0.0.1:{port}/webhooks/strava", args.rate,
                                   seconds)
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({
        "requests": len(latencies), "seconds": round(wall, 1),
        "achieved_rps": round(len(latencies) / wall, 1), "errors": errors,
        "p50_ms": round(_pct(latencies, 0.50), 1), "p99_ms": round(_pct(latencies, 0.99), 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "target_met": errors == 0 and _pct(latencies, 0.99) <= 50.0}, indent=2))


if __name__ == "__main__":
    main()
