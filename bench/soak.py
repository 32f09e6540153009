"""Memory soak: upload N activities (default 2,000) and print web and worker RSS at the start, the
middle and the end.

    python bench/soak.py                 # 2,000 uploads
    python bench/soak.py --quick         # 300 uploads, a quick look
    python bench/soak.py --recycle       # with gunicorn's recycling as deployed (1,000 ± 100)

Web processes are not recycled during the soak (KNEEGUARD_WEB_MAX_REQUESTS=0): 2,000 uploads on
2 processes would recycle them near the end, and the figure would be gunicorn's restarts, not
the processes' memory. `web_same_processes` says whether the middle and end samples are of the
same processes.

Production shape when BENCH_DATABASE_URL (PostgreSQL) and BENCH_REDIS_URL are set — or, failing
those, DATABASE_URL and REDIS_URL: `kneeguard serve` (gunicorn, 2 web processes) plus 2
`kneeguard worker` processes. Its tables are emptied and its Redis db flushed: never point it at
real data. Otherwise the embedded default: one `kneeguard serve` process (SQLite in a temporary
folder, queue and worker as threads inside it).

Each upload is a distinct synthetic GPX run (one a day, oldest first, 8-16 km, 1 point per 20 m),
sent as a raw body by 4 client threads. `--athletes N` spreads them over N runners: one runner's
2,000-run history makes every analysis read 2,000 runs (the workers' settle alone took more than
half an hour on a shared 2-core host), while the web's work per upload does not depend on it.
RSS is read from /proc for every process of the service (gunicorn master and web workers, RQ
workers; work-horses are short-lived and not counted); the middle and end samples are taken
after the queue has drained (or 10 minutes), so workers are compared at rest.
Prints JSON, with web and worker growth from the middle to the end (target ≤ 10%).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from service.infra.loopback import free_port
from testkit.processes import children, rss_kb

DB = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
REDIS = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
CLI = str(Path(sys.executable).with_name("kneeguard"))
CLIENTS = 4


def gpx(day: int) -> bytes:
    """An out-and-back run near Ljubljana with a hill, one point every 20 m, 5:30/km."""
    start = datetime(2020, 1, 1, 7, 0, tzinfo=UTC) + timedelta(days=day)
    km = 8 + (day * 7919) % 9
    n = km * 50
    pts = []
    for i in range(n):
        along = min(i, n - i) * 20.0
        lat = 46.05 + along / 111_320.0
        ele = 300.0 + 40.0 * math.sin(along / 500.0)
        t = start + timedelta(seconds=i * 6.6)
        pts.append(f'<trkpt lat="{lat:.6f}" lon="14.5"><ele>{ele:.1f}</ele>'
                   f'<time>{t:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>')
    return ('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="soak" '
            'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>soak</name><type>running</type>'
            f'<trkseg>{"".join(pts)}</trkseg></trk></gpx>').encode()


def rss_mb(pid: int) -> float | None:
    kb = rss_kb(pid)
    return None if kb is None else round(kb / 1024, 1)


def environment(tmp: Path, recycle: bool = False) -> dict:
    env = {**os.environ, "LOG_LEVEL": "WARNING",
           "KNEEGUARD_WEB_MAX_REQUESTS": os.environ.get("KNEEGUARD_WEB_MAX_REQUESTS", "1000")
           if recycle else "0",
           "KNEEGUARD_SECRET_KEY": "soak", "EMAIL_OUTBOX_DIR": str(tmp / "outbox"),
           "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "KNEEGUARD_RATE_LIMITS": json.dumps({"key": 1_000_000, "address": 1_000_000})}
    if DB and REDIS:
        env.update(DATABASE_URL=DB, REDIS_URL=REDIS)
    else:
        env.pop("REDIS_URL", None)
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'soak.db'}"
    return env


def prepare(env: dict) -> None:
    if "REDIS_URL" not in env:
        return
    import redis

    from service.infra import migrate, runtime
    from service.infra.settings import Settings

    settings = Settings.from_env(env)
    migrate.upgrade(settings.database_url)
    rt = runtime.build(settings)
    rt.db.empty_all_tables()
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    rt.close()


def start(env: dict, port: int) -> tuple[subprocess.Popen, list[subprocess.Popen]]:
    web = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", "2"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = [] if "REDIS_URL" not in env else [
        subprocess.Popen([CLI, "worker"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL) for _ in range(2)]
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return web, workers
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def athletes(env: dict, count: int) -> list[tuple[str, str]]:
    out = []
    for n in range(count):
        data = json.loads(subprocess.run([CLI, "athletes", "add", f"soak{n}@example.com"], env=env,
                                         check=True, capture_output=True, text=True).stdout)
        out.append((data["id"], data["token"]))
    return out


def sample(web: subprocess.Popen, workers: list[subprocess.Popen]) -> dict:
    return {"web": {pid: rss_mb(pid) for pid in children(web.pid)},
            "web_master": rss_mb(web.pid),
            "workers": {w.pid: rss_mb(w.pid) for w in workers}}


def upload(url: str, people: list[tuple[str, str]], days: range, errors: list) -> None:
    session = requests.Session()
    for day in days:
        athlete_id, token = people[day % len(people)]
        r = session.post(f"{url}/v1/athletes/{athlete_id}/activities?filename=d{day}.gpx",
                         data=gpx(day), headers={"Authorization": f"Bearer {token}"}, timeout=120)
        if r.status_code != 202:
            errors.append((day, r.status_code, r.text[:200]))


def batch(url: str, people: list[tuple[str, str]], first: int, last: int) -> list:
    errors: list = []
    threads = [threading.Thread(target=upload, args=(url, people,
                                                     range(first + k, last, CLIENTS), errors))
               for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def settle(env: dict, seconds: float = 600) -> int:
    """Wait until the workers are idle: nothing queued and nothing left `parsed`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with engine.connect() as c:
            left = c.scalar(text("SELECT count(*) FROM activities WHERE status = 'parsed'"))
        if not left:
            break
        time.sleep(1)
    engine.dispose()
    return left  # analyses still waiting when the sample is taken (0: the workers are at rest)


def total(side: dict) -> float:
    return round(sum(v for v in side.values() if v), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="300 uploads (a shared machine)")
    parser.add_argument("--recycle", action="store_true", help="gunicorn recycles web processes")
    parser.add_argument("--athletes", type=int, default=1,
                        help="upload i goes to athlete i mod N (the web's work per upload is the "
                             "same; the workers' analyses read N times shorter histories)")
    args = parser.parse_args()
    if args.quick:
        args.count = 300
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(Path(tmp), args.recycle)
        prepare(env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        web, workers = start(env, port)
        try:
            people = athletes(env, args.athletes)
            t0 = time.perf_counter()
            samples = {"start": sample(web, workers)}
            half = args.count // 2
            phases = {}
            errors = batch(url, people, 0, half)
            phases["upload_1"] = time.perf_counter() - t0
            waiting = {"middle": settle(env)}
            phases["settle_1"] = time.perf_counter() - t0
            samples["middle"] = sample(web, workers)
            errors += batch(url, people, half, args.count)
            phases["upload_2"] = time.perf_counter() - t0
            waiting["end"] = settle(env)
            phases["settle_2"] = time.perf_counter() - t0
            samples["end"] = sample(web, workers)
            elapsed = time.perf_counter() - t0
        finally:
            for proc in [web, *workers]:
                proc.terminate()
            for proc in [web, *workers]:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    growth = {side: round(100 * (total(samples["end"][side]) / total(samples["middle"][side]) - 1),
                          1) if total(samples["middle"][side]) else None
              for side in ("web", "workers")}
    print(json.dumps({"shape": "gunicorn+redis+postgresql" if "REDIS_URL" in env else "embedded",
                      "uploads": args.count, "athletes": args.athletes, "errors": len(errors),
                      "first_errors": errors[:3], "analyses_waiting_at_sample": waiting,
                      "seconds": round(elapsed, 1),
                      "phases_s": {k: round(v, 1) for k, v in phases.items()}, "rss_mb": samples,
                      "rss_total_mb": {k: {"web": total(v["web"]), "workers": total(v["workers"])}
                                       for k, v in samples.items()},
                      "growth_middle_to_end_pct": growth,
                      "web_same_processes": set(samples["middle"]["web"])
                      == set(samples["end"]["web"]),
                      "loadavg": [round(x, 2) for x in os.getloadavg()]}, indent=1))


if __name__ == "__main__":
    main()
