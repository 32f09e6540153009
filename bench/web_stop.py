"""How long `kneeguard serve` takes to exit on SIGTERM (what `docker stop` of web waits for), as
compose runs it: gunicorn on Redis with 2×CPU+1 web processes, idle, on a SQLite file of its own.

    REDIS_URL=redis://127.0.0.1:6379/<your index> python bench/web_stop.py [rounds] [--workers N]

Prints each round's stop time and exit status, the median and the slowest, with the load average
(the time is CPU work at exit, so it grows with the load; docs/decisions.md, "Issue 27: the two
open figures").
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from service.infra.loopback import free_port
from testkit.processes import serves_health

CLI = str(Path(sys.executable).with_name("kneeguard"))


def one_stop(redis_url: str, workers: int, folder: str) -> tuple[float, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(REDIS_URL=redis_url, KNEEGUARD_DATA_DIR=folder, LOG_LEVEL="WARNING")
    proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not serves_health(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"kneeguard serve did not start (exit {proc.poll()})")
            time.sleep(0.2)
        time.sleep(1)  # every web process booted, not only the first to answer
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        return time.monotonic() - start, code
    finally:
        if proc.poll() is None:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        sys.exit("set REDIS_URL to a Redis database of your own")
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.rounds):
            took, code = one_stop(url, args.workers, folder)
            seconds.append(took)
            print(f"round {n + 1}: stop {took:.2f} s, exit {code}, load {os.getloadavg()[0]:.1f}")
    print(f"{args.workers} web processes, {args.rounds} stops: median {statistics.median(seconds):.2f} s,"
          f" slowest {max(seconds):.2f} s")


if __name__ == "__main__":
    main()
