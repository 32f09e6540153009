"""The fault battery: uploads under fire, compared with a one-at-a-time reference.

Each runner's uploads: a history of synthetic GPX runs (so rules fire), real FIT files from
../shared/data with their Garmin-Connect-style GPX exports (same-run pairs; testkit.copies), and
exact re-sends of some files. The battery sends them from 4 client threads in a shuffled order (a
GPX export often before its FIT) to a production-shaped private stack (bench/stack.py: its own
PostgreSQL cluster and Redis, `kneeguard serve` with 2 gunicorn processes, 2 `kneeguard worker`
processes and a delivery worker `kneeguard worker --queues notify`, as compose's `notifier`;
`--no-notifier` leaves it out) while it:

- SIGKILLs a busy worker and its work-horse 5 times (a worker like it is started after each);
- flushes Redis (every queued and scheduled job is gone; the sweeper must recover);
- restarts PostgreSQL (every connection is cut; uploads in flight answer 503 and are retried);
- takes the integrator's endpoint down: 503 to everything until 3 s after the first refused
  attempt (so every refused attempt is retried after it), then 503 to every message's first
  attempt for 30 s more (its retry passes): enough retries to measure their schedule.

Clients retry a 503 or a dropped connection after Retry-After, as the API tells them to; a 4xx is
recorded and never retried. The reference stores the same files one at a time, each analysed
before the next (embedded default, in this process), for the same runner ids. Printed: activities
and findings (ids included) equal to the reference or not, lost, duplicated, 4xx answers, webhook
figures, and the gap between a failed delivery's first and second attempts (on schedule: 5 s ±20%
plus a few seconds).

    python bench/faults.py --quick         # 2 runners, about 60 uploads
    python bench/faults.py                 # 4 runners, about 130 uploads
    python bench/faults.py --runners 24    # about 800 uploads (the issue's run)

The PostgreSQL restart is of the bench's own cluster (`pg_ctl stop -m fast` + start): nothing
else on the machine is touched. `done_when` sums up the issue's figures (0 lost, 0 duplicated,
the reference's activities and finding ids, retries on schedule), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from faults_reference import (
    add_runners,
    compare,
    delivery_figures,
    reference,
    snapshot,
    verdict,
    webhook_figures,
)
from soak import children, gpx  # sibling scripts (this folder is first on sys.path)
from stack import Stack
from werkzeug.wrappers import Response

from service.domain.accounts import new_token
from service.infra.corpus import SHARED_DATA
from service.infra.loopback import free_port
from testkit.copies import gpx_copy
from testkit.receiver import Receiver
from workers.parsing import parse_bytes

REAL_RUNS = ["msimms__20210507_run_garmin_fenix_6.fit", "sportslib__6909950168.fit",
             "sportslib__6782987395.fit", "gc__4077461142.fit", "sportslib__6916728382.fit",
             "msimms__20181108_run_garmin_fenix_3_hr.fit", "gc__Garmin920_withFirstbeat.fit",
             "fitparse__garmin-fenix-5-run.fit"]
CLIENTS = 4
OUTAGE_S = 3.0  # everything refused: until this long after the first refused attempt
FLAPPING_S = 30.0  # then every message's first attempt refused (its retries pass) this long


# ---- the uploads -------------------------------------------------------------------------------

def runner_files(n: int, synthetic: int, real: int) -> list[tuple[str, bytes]]:
    """One runner's files in their natural order (the reference's order)."""
    files = [(f"r{n}-day{d}.gpx", gpx(1000 * n + d)) for d in range(synthetic)]
    for name in REAL_RUNS[n % 2::2][:real]:
        fit = (SHARED_DATA / "activities" / "fit" / name).read_bytes()
        copy = gpx_copy(parse_bytes(fit, name).tracks[0])
        files.append((name, fit))
        if copy is not None:
            files.append((name.replace(".fit", ".gpx"), copy))
    return files


def battery_order(files: list[tuple[str, bytes]], rng: random.Random) -> list[tuple[str, bytes]]:
    """Shuffled, GPX exports often first, and a third of the files sent twice."""
    again = rng.sample(files, len(files) // 3)
    mixed = files + again
    rng.shuffle(mixed)
    return mixed


def runners(count: int, quick: bool) -> list[dict]:
    """Runner n's synthetic runs start 1,000 days after runner n-1's (2020-01-01 for runner 0)."""
    synthetic, real = (12, 3) if quick else (18, 4)
    return [{"id": f"ath_faults{n:02d}", "email": f"faults{n}@example.com", "token": new_token(),
             "files": runner_files(n, synthetic, real)} for n in range(count)]


# ---- the battery -------------------------------------------------------------------------------

class Clients:
    """Upload threads that retry 503s and dropped connections (as the API tells clients to)."""

    def __init__(self, url: str, people: list[dict], rng: random.Random) -> None:
        self.url = url
        self.jobs = [(p, name, body) for p in people for name, body in battery_order(p["files"],
                                                                                     rng)]
        rng.shuffle(self.jobs)
        self.answers: list[dict] = []
        self.lock = threading.Lock()
        self.next = 0

    def progress(self) -> float:
        with self.lock:
            return len(self.answers) / max(len(self.jobs), 1)

    def take(self):
        with self.lock:
            if self.next >= len(self.jobs):
                return None
            self.next += 1
            return self.jobs[self.next - 1]

    def run(self) -> None:
        session = requests.Session()
        while (job := self.take()) is not None:
            p, name, body = job
            answer = self.send(session, p, name, body)
            with self.lock:
                self.answers.append(answer)

    def send(self, session, p, name, body) -> dict:
        tries = []
        for _ in range(30):
            try:
                r = session.post(f"{self.url}/v1/athletes/{p['id']}/activities?filename={name}",
                                 data=body, headers={"Authorization": f"Bearer {p['token']}"},
                                 timeout=120)
            except requests.RequestException as exc:
                tries.append(type(exc).__name__)
                time.sleep(1)
                continue
            tries.append(r.status_code)
            if r.status_code == 503:
                time.sleep(float(r.headers.get("Retry-After", "2")))
                continue
            return {"runner": p["id"], "file": name, "status": r.status_code, "tries": tries,
                    "body": r.json() if r.headers.get("content-type", "").startswith(
                        "application/json") else None}
        return {"runner": p["id"], "file": name, "status": None, "tries": tries, "body": None}


class Flapping(Receiver):
    """The integrator: `first_attempts_down` refuses (503) each message's first attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.first_attempts_down = False
        self.refused: set[str] = set()

    def _answer(self, hit):
        msg = hit["headers"].get("webhook-id", "")
        if self.status_override:  # the full outage: its retries are not first attempts
            self.refused.add(msg)
        elif self.first_attempts_down and msg not in self.refused:
            self.refused.add(msg)
            return Response("down", status=503)
        return super()._answer(hit)


class Faults:
    def __init__(self, stack: Stack, rx: Flapping, workers: list) -> None:
        self.stack, self.rx, self.workers = stack, rx, workers  # [(Popen, its arguments)]
        self.log: list[tuple[float, str]] = []
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    def note(self, what: str) -> None:
        self.log.append((round(time.monotonic() - self.t0, 1), what))

    def kill_worker(self) -> None:
        """SIGKILL a busy worker and its work-horse (or any worker), then start a new one like it
        (its children: the work-horse, and the RQ scheduler if that worker holds its lock)."""
        victim, args = next((w for w in self.workers if children(w[0].pid)), self.workers[0])
        horses = children(victim.pid)
        for pid in [victim.pid, *horses]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        victim.wait(timeout=30)
        self.workers.remove((victim, args))
        self.workers.append((self.stack.worker(*args), args))
        self.note(f"worker {' '.join(args) or '(all queues)'} SIGKILL (+{len(horses)} children)")

    def flush_redis(self) -> None:
        self.stack.flush_redis()
        self.note("redis FLUSHALL")

    def restart_postgres(self) -> None:
        down = self.stack.restart_postgres()
        self.note(f"postgresql restarted ({down:.1f} s down)")

    def outage(self) -> None:
        """In its own thread: waits for deliveries to flow, then 503 to everything a while."""
        threading.Thread(target=self._outage, daemon=True).start()

    def _outage(self) -> None:
        """503 from now; back 3 s after the first delivery it refused, so every refused attempt
        is retried (5 s ± 20% later) after the outage: attempt 2 lands on schedule."""
        self.rx.status_override = 503
        self.note("integrator down (503)")
        seen = len(self.rx.recorder.hits)
        deadline = time.monotonic() + 120
        while len(self.rx.recorder.hits) <= seen and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(OUTAGE_S)
        self.rx.first_attempts_down = True
        self.rx.status_override = None
        refused = len(self.rx.recorder.hits) - seen
        self.note(f"integrator refuses first attempts only ({refused} attempts refused)")
        time.sleep(FLAPPING_S)
        self.rx.first_attempts_down = False
        self.note(f"integrator back ({len(self.rx.refused)} messages refused in all)")


def plan(faults: Faults) -> list[tuple[float, object]]:
    """(upload progress, fault): spread over the run."""
    return sorted([(0.10, faults.kill_worker), (0.25, faults.kill_worker),
                   (0.30, faults.outage), (0.40, faults.kill_worker),
                   (0.50, faults.flush_redis), (0.60, faults.kill_worker),
                   (0.70, faults.restart_postgres), (0.85, faults.kill_worker)],
                  key=lambda x: x[0])


def settle(stack: Stack, cap_s: float = 1500) -> float:
    """Until every activity is analysed and no delivery is due within 4 minutes: a delivery whose
    worker was killed mid-send is tried again when its lease (3 min, workers/deliver.py) ends."""
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.env["DATABASE_URL"], pool_pre_ping=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < cap_s:
        try:
            with engine.connect() as c:
                left = c.scalar(text("SELECT count(*) FROM activities WHERE status = 'parsed'"))
                due = c.scalar(text("SELECT count(*) FROM deliveries WHERE status = 'pending' AND "
                                    "next_attempt_at < now() + interval '4 minutes'"))
            if not left and not due:
                break
        except Exception:
            pass
        time.sleep(1)
    engine.dispose()
    return round(time.monotonic() - t0, 1)


def endpoints(rt, people: list[dict], rx: Receiver) -> None:
    from service.domain import endpoints as svc

    with rt.db.session() as s:
        for p in people:
            ep, secret = svc.create(s, rt.box, url=f"{rx.url}/hook/{p['id']}",
                                    events=["finding.created", "finding.withdrawn"],
                                    allow_loopback=True, athlete_id=p["id"])
            rx.path_secrets[f"/hook/{p['id']}"] = secret


def battery(people: list[dict], seed: int, notifier: bool = True) -> dict:
    from service.infra import runtime as runtime_mod
    from service.infra.settings import Settings

    rng = random.Random(seed)
    rx = Flapping()
    rx.start()
    env = {"WEBHOOK_ALLOW_LOOPBACK": "true", "KNEEGUARD_SWEEP_INTERVAL": "2",
           "KNEEGUARD_JOB_LEASE": "5"}
    with Stack(extra_env=env) as stack:
        rt = runtime_mod.build(Settings.from_env(stack.env))
        add_runners(rt, people)
        endpoints(rt, people, rx)
        rt.close()
        port = free_port()
        stack.serve(port)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        shape = [(), ()] + ([("--queues", "notify")] if notifier else [])
        workers = [(stack.worker(*args), args) for args in shape]
        faults = Faults(stack, rx, workers)
        clients = Clients(url, people, rng)
        threads = [threading.Thread(target=clients.run) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for at, fault in plan(faults):
            while clients.progress() < at and any(t.is_alive() for t in threads):
                time.sleep(0.2)
            fault()
        for t in threads:
            t.join()
        faults.note("uploads done")
        settled = settle(stack)
        faults.note(f"settled after {settled} s")
        rt = runtime_mod.build(Settings.from_env(stack.env))
        state = snapshot(rt)
        state["deliveries"] = delivery_figures(rt, faults.wall0)
        rt.close()
    rx.stop()
    state.update(answers=clients.answers, faults=faults.log, webhooks=webhook_figures(rx))
    return state


def wait_ready(url: str) -> None:
    for _ in range(600):
        try:
            if requests.get(f"{url}/readyz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--runners", type=int, help="default 4 (--quick: 2)")
    parser.add_argument("--no-notifier", action="store_true",
                        help="no delivery worker (compose's `notifier`): 2 workers for all queues")
    parser.add_argument("--save", help="also write every upload's answers and both states here")
    args = parser.parse_args()
    people = runners(args.runners or (2 if args.quick else 4), args.quick)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        ref = reference(people, Path(tmp))
    t_ref = time.monotonic() - t0
    got = battery(people, args.seed, notifier=not args.no_notifier)
    report = compare(ref, got)
    report = {"done_when": verdict(report, got), **report}
    report.update(faults=got["faults"], deliveries=got["deliveries"],
                  webhooks={k: v for k, v in got["webhooks"].items() if k != "announced_ids"},
                  seconds={"reference": round(t_ref, 1),
                           "battery": round(time.monotonic() - t0 - t_ref, 1)},
                  loadavg=[round(x, 2) for x in os.getloadavg()],
                  at=datetime.now(UTC).isoformat(timespec="seconds"))
    print(json.dumps(report, indent=1, default=str))
    if args.save:
        Path(args.save).write_text(json.dumps({"reference": ref, "battery": got}, default=str))


if __name__ == "__main__":
    main()
