"""Where web memory goes under uploads: a heap profile of one web process.

The app runs in this process on a threaded loopback server (as a gunicorn gthread worker runs
it: several request threads), on SQLite in a temporary folder (or BENCH_DATABASE_URL, emptied
first) and the external Redis given by BENCH_REDIS_URL (REDIS_URL), so queued jobs do not live
in this process; no worker runs here.
4 client threads upload distinct synthetic GPX runs (bench/soak.py's). At the start, the middle
and the end it prints RSS, what tracemalloc sees as allocated by Python, and at the end the
allocation sites that grew most from the middle to the end.

    BENCH_REDIS_URL=redis://127.0.0.1:<port>/0 python bench/web_heap.py --count 600

If Python's own allocations stay flat while RSS grows, the growth is the C allocator's (glibc
arenas per thread, fragmentation), not a leak in our code.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from soak import gpx, rss_mb  # the sibling script (this folder is first on sys.path)

from service import create_app
from service.domain import accounts
from service.infra import migrate
from service.infra.loopback import LiveServer
from service.infra.settings import Settings

CLIENTS = 4


def upload(url: str, token: str, athlete_id: str, days: range) -> None:
    session = requests.Session()
    for day in days:
        for _ in range(10):  # a 503 (database busy) is retried, as the API tells clients to
            r = session.post(f"{url}/v1/athletes/{athlete_id}/activities?filename=d{day}.gpx",
                             data=gpx(day), headers={"Authorization": f"Bearer {token}"},
                             timeout=120)
            if r.status_code != 503:
                break
            time.sleep(float(r.headers.get("Retry-After", "1")))
        assert r.status_code == 202, r.text[:300]


def batch(url: str, token: str, athlete_id: str, first: int, last: int) -> None:
    threads = [threading.Thread(target=upload, args=(url, token, athlete_id,
                                                     range(first + k, last, CLIENTS)))
               for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sample() -> dict:
    gc.collect()
    current, _peak = tracemalloc.get_traced_memory()
    return {"rss_mb": rss_mb(os.getpid()), "python_heap_mb": round(current / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--no-trace", action="store_true", help="RSS only (tracemalloc off)")
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'heap.db'}"
        migrate.upgrade(url)
        settings = Settings(database_url=url, redis_url=redis_url, secret_key="bench",
                            encryption_keys=(Fernet.generate_key().decode(),),
                            email_outbox_dir=str(Path(tmp) / "outbox"),
                            public_url="http://127.0.0.1:8000",
                            rate_limits={"key": 1_000_000, "address": 1_000_000})
        app = create_app(settings)
        runtime = app.extensions["kneeguard"]
        runtime.db.empty_all_tables()  # BENCH_DATABASE_URL: never point it at real data
        athlete_id, token = accounts.add_athlete(runtime, "heap@example.com")
        if not args.no_trace:
            tracemalloc.start(12)
        with LiveServer(app) as server:
            batch(server.url, token, athlete_id, 0, 40)  # warm up: imports, caches, pools
            samples = {"start": sample()}
            half = args.count // 2
            batch(server.url, token, athlete_id, 40, 40 + half)
            samples["middle"] = sample()
            middle = None if args.no_trace else tracemalloc.take_snapshot()
            batch(server.url, token, athlete_id, 40 + half, 40 + args.count)
            samples["end"] = sample()
            end = None if args.no_trace else tracemalloc.take_snapshot()
        runtime.close()
    grown = [] if middle is None else [
        {"where": str(stat.traceback[-1]), "size_kb": round(stat.size_diff / 1024, 1),
         "count": stat.count_diff}
        for stat in end.compare_to(middle, "traceback")[:8]]
    print(json.dumps({"uploads": args.count, "samples": samples, "grew_most_middle_to_end": grown,
                      "loadavg": [round(x, 2) for x in os.getloadavg()]}, indent=1))


if __name__ == "__main__":
    main()
