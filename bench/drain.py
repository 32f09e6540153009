"""How long `JobQueue.drain()` takes on a real Redis for one trivial job, with and without RQ's
command channel (its pubsub thread reads in 60 s waits; redis-py's stop() joins it).

    REDIS_URL=redis://127.0.0.1:6379/<your index> python bench/drain.py [runs]

Prints the median and the slowest drain for each, with the load average (the wait is a race:
the more loaded the machine, the more often a drain ends ~60 s after its job).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from rq import SimpleWorker

from service.infra import queue


def drains(jq: queue.JobQueue, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        jq.enqueue("analyze", "os.getpid")
        start = time.monotonic()
        jq.drain()
        seconds.append(time.monotonic() - start)
    return seconds


def main() -> None:
    url = os.environ.get("REDIS_URL")
    if not url:
        sys.exit("set REDIS_URL to a Redis database of your own")
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    jq = queue.JobQueue(url)
    jq.redis.flushdb()
    ours = queue.ThreadWorker.subscribe
    for name, subscribe in (("with the command channel (RQ's default)", SimpleWorker.subscribe),
                            ("without (ThreadWorker)", ours)):
        queue.ThreadWorker.subscribe = subscribe
        seconds = drains(jq, runs)
        print(f"{name}: {runs} drains, median {statistics.median(seconds):.2f} s, "
              f"slowest {max(seconds):.2f} s, load {os.getloadavg()[0]:.1f}")
    queue.ThreadWorker.subscribe = ours


if __name__ == "__main__":
    main()
