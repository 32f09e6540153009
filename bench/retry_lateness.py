"""Retries on schedule under a backlog: how late is a delivery's second attempt while hundreds of
analyses wait?

Production shape on a private stack (bench/stack.py: own PostgreSQL cluster, own Redis, 2
`kneeguard worker` processes with RQ's scheduler). An integrator's endpoint (a loopback server)
answers 503 to the first attempt of every message and 204 afterwards. The bench queues BACKLOG
analyze jobs (real runs of 50 runners, so each job is a real analysis) and then MESSAGES
`endpoint.test` deliveries, starts the workers, and records when the receiver saw each attempt.
The retry schedule's first step is 5 s ± 20%: a retry on schedule arrives 4-6 s after the first
attempt (plus the scheduler's 1 s tick and a worker finishing its current job).

    python bench/retry_lateness.py            # 500 analyses, 100 messages
    python bench/retry_lateness.py --quick    # 150 analyses, 40 messages
    python bench/retry_lateness.py --notify-worker   # one of the two workers serves only `notify`

Prints JSON: gap between attempts 1 and 2 (percentiles), lateness past the latest on-schedule
moment (6 s), how many were on schedule within 6 s + 3 s, and the analyses left when the last
retry arrived (proof that the backlog was still there), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta

from stack import Stack  # the sibling script (this folder is first on sys.path)
from werkzeug.wrappers import Request, Response

from service.infra.loopback import LiveServer

FIRST_STEP_S, JITTER, FEW_S = 5.0, 0.2, 3.0


class Outage:
    """503 to the first attempt of each message, 204 after; the time of every attempt."""

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.server = LiveServer(self.app)

    def app(self, environ, start_response):
        msg = Request(environ).headers.get("webhook-id", "?")
        with self.lock:
            times = self.seen.setdefault(msg, [])
            times.append(time.time())
            first = len(times) == 1
        return Response("down" if first else b"", status=503 if first else 204)(
            environ, start_response)


def fill(stack: Stack, backlog: int, messages: int, url: str) -> list[str]:
    from service.domain import accounts, activities
    from service.domain import endpoints as svc
    from service.infra import runtime as runtime_mod
    from service.infra.settings import Settings
    from testkit.synthetic import run_track

    rt = runtime_mod.build(Settings.from_env({**stack.env, "WEBHOOK_ALLOW_LOOPBACK": "true"}))
    runners = [accounts.add_athlete(rt, f"r{i}@example.com")[0] for i in range(50)]
    start = datetime(2025, 3, 1, 7, tzinfo=UTC)
    ids = []
    with rt.db.session() as s:
        for n in range(backlog):
            track = run_track(start + timedelta(days=n // 50 * 2), 6 + n % 7)
            ids += [a["id"] for a in activities.store_track(
                s, runners[n % 50], track, "upload", f"run{n}.gpx").created]
        ep, secret = svc.create(s, rt.box, url=url, events=["endpoint.test"],
                                allow_loopback=True, athlete_id=runners[0])
        deliveries = [svc.send_test(s, ep).id for _ in range(messages)]
    from service.infra import jobs

    for activity_id in ids:
        jobs.analyze_activity(rt, activity_id)
    for delivery_id in deliveries:
        jobs.deliver(rt, delivery_id)
    rt.close()
    return deliveries


def waiting_analyses(stack: Stack) -> int:
    import redis

    return redis.Redis(port=stack.redis_port).llen("rq:queue:analyze")


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--notify-worker", action="store_true",
                        help="the second worker is a delivery worker (`kneeguard worker --queues notify`)")
    args = parser.parse_args()
    backlog, messages = (150, 40) if args.quick else (500, 100)
    outage = Outage()
    outage.server.start()
    with Stack(extra_env={"WEBHOOK_ALLOW_LOOPBACK": "true"}) as stack:
        fill(stack, backlog, messages, outage.server.url + "/hook")
        left_at_start = waiting_analyses(stack)
        t0 = time.time()
        stack.worker()
        stack.worker(*(["--queues", "notify"] if args.notify_worker else []))
        left_when_done = None
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            with outage.lock:
                done = sum(len(v) >= 2 for v in outage.seen.values())
            if done >= messages:
                left_when_done = waiting_analyses(stack)
                break
            time.sleep(0.2)
    outage.server.stop()
    gaps = [v[1] - v[0] for v in outage.seen.values() if len(v) >= 2]
    late = [max(0.0, g - FIRST_STEP_S * (1 + JITTER)) for g in gaps]
    print(json.dumps({
        "backlog_analyses": backlog, "analyses_waiting_at_start": left_at_start,
        "analyses_waiting_when_last_retry_arrived": left_when_done, "messages": messages,
        "notify_worker": args.notify_worker,
        "retried": len(gaps), "never_retried": messages - len(gaps),
        "gap_s": {f"p{p}": pct(gaps, p) for p in (50, 90, 99, 100)},
        "lateness_past_6s": {f"p{p}": pct(late, p) for p in (50, 90, 99, 100)},
        "on_schedule_within_6s_plus_3s": sum(g <= FIRST_STEP_S * (1 + JITTER) + FEW_S
                                             for g in gaps),
        "first_attempts_span_s": round(max((v[0] for v in outage.seen.values()), default=t0)
                                       - t0, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()]}, indent=1))


if __name__ == "__main__":
    main()
