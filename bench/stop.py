"""How long `kneeguard serve` or `kneeguard worker` takes to exit on SIGTERM (what `docker stop`
waits for), as compose runs them, idle, on Redis and a SQLite file of their own: the web service is
gunicorn with 2×CPU+1 web processes.

    REDIS_URL=redis://127.0.0.1:6379/<your index> python bench/stop.py web [rounds] [--workers N]
    REDIS_URL=redis://127.0.0.1:6379/<your index> python bench/stop.py worker [rounds]

Prints each round's stop time and exit status, the median and the slowest, with the load average
(web's time is CPU work at exit, so it grows with the load; a worker's was, one stop in eight, its
pubsub thread's 60 s sleep; docs/decisions.md, "Issue 27: the two open figures" and "Worker stop").
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from service.infra.loopback import free_port
from testkit.processes import serves_health

CLI = str(Path(sys.executable).with_name("kneeguard"))


def started_web(env: dict, workers: int) -> subprocess.Popen:
    port = free_port()
    proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not serves_health(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"kneeguard serve did not start (exit {proc.poll()})")
        time.sleep(0.2)
    time.sleep(1)  # every web process booted, not only the first to answer
    return proc


def started_worker(env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([CLI, "worker"], env=dict(env, LOG_LEVEL="INFO"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # RQ logs its subscription once the worker is set up
        if "subscribing to channel" in line:
            break
    else:
        sys.exit(f"kneeguard worker did not start (exit {proc.wait()})")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # never a full pipe
    time.sleep(0.5)  # its pubsub thread is reading
    return proc


def one_stop(what: str, redis_url: str, workers: int, folder: str) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(REDIS_URL=redis_url, KNEEGUARD_DATA_DIR=folder, LOG_LEVEL="WARNING")
    proc = started_web(env, workers) if what == "web" else started_worker(env)
    try:
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        return time.monotonic() - start, code
    finally:
        if proc.poll() is None:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("web", "worker"))
    parser.add_argument("rounds", nargs="?", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        sys.exit("set REDIS_URL to a Redis database of your own")
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.rounds):
            took, code = one_stop(args.what, url, args.workers, folder)
            seconds.append(took)
            print(f"round {n + 1}: stop {took:.2f} s, exit {code}, load {os.getloadavg()[0]:.1f}")
    who = f"{args.workers} web processes" if args.what == "web" else "an idle worker"
    print(f"{who}, {args.rounds} stops: median {statistics.median(seconds):.2f} s,"
          f" slowest {max(seconds):.2f} s")


if __name__ == "__main__":
    main()
