"""Strava push intake under load: POST /webhooks/strava on gunicorn + PostgreSQL + Redis.

    python bench/intake.py                    # 200 requests/s for 60 s, then the same on HEAD^
    python bench/intake.py --quick            # 10 s per run
    python bench/intake.py --compare 29af089  # compare with any commit (default: HEAD^)
    python bench/intake.py --no-compare       # this tree only

Starts `kneeguard serve` (gunicorn, production shape) on a free port against BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/kneeguard_bench, created if missing, its tables
emptied: never point it at real data) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/15,
flushed). No worker runs, so every request is the receiver's whole job: validate, one INSERT,
one enqueue. Each request is a distinct event of a connected athlete. The load generator is
open-loop (requests are sent on schedule, whether or not earlier ones came back), so a slow
server shows up as latency, not as a lower rate. Target: p99 <= 50 ms, 0 errors.

Comparison: the other commit is checked out with `git worktree add` into a temporary folder and
run with its own code and migrations against its own database (BENCH_DATABASE_URL + "_prev"),
alternating with this tree (this, other, this, other ...: `--rounds`), so both see the same
machine. Wall-clock figures on a busy machine mean little, so each run also prints what does not
depend on the load: per request, the SQL statements, database and Redis round trips and the CPU
time in-process (`per_request`), and the server's CPU per request under the load (gunicorn
processes; PostgreSQL backends of the bench database). The load average is printed before and
after each run. Prints JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from service.infra.loopback import free_port
from service.infra.settings import Settings

DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/kneeguard_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
OWNER = 134815
THREADS = 32
REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


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


def _start_server(env: dict, port: int, tree: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from service.cli import main; main()", "serve",
           "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env, "LOG_LEVEL": "WARNING",
                                      "PYTHONPATH": str(tree)}, cwd=tree,
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
            body = _event(i)
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


def _event(i: int) -> str:
    return json.dumps({"aspect_type": "create", "event_time": 1_700_000_000 + i,
                       "object_id": 10_000_000 + i, "object_type": "activity",
                       "owner_id": OWNER, "subscription_id": 1, "updates": {}})


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


def _env(db: str) -> dict:
    return {"DATABASE_URL": db, "REDIS_URL": REDIS, "KNEEGUARD_SECRET_KEY": "bench",
            "KNEEGUARD_ENCRYPTION_KEYS": os.environ.get("BENCH_FERNET_KEY")
            or Fernet.generate_key().decode(),
            "STRAVA_CLIENT_ID": "1", "STRAVA_CLIENT_SECRET": "bench",
            "STRAVA_VERIFY_TOKEN": "bench", "LOG_JSON": "false"}


# ---- per-request figures that do not depend on the machine's load -------------------------------


def probe(requests_n: int = 300) -> dict:
    """In this process (the tree on PYTHONPATH), through the WSGI app: per request, the SQL
    statements, database round trips (libpq's protocol trace: every ReadyForQuery ends one, so
    pings, BEGIN and COMMIT count) and statements parsed by the server (a prepared statement is
    parsed and planned once), Redis round trips and CPU ms. Runs in the tree measured."""
    import redis.connection
    from sqlalchemy import event

    from service import create_app

    app = create_app(Settings.from_env(_env(DB)))
    rt = app.extensions["kneeguard"]
    counts = {"sql_statements": 0, "redis_round_trips": 0}
    trace = tempfile.NamedTemporaryFile("w+", suffix=".pgtrace")
    rt.db.engine.dispose()
    event.listen(rt.db.engine, "connect", lambda conn, _rec: conn.pgconn.trace(trace.fileno()))
    event.listen(rt.db.engine, "before_cursor_execute",
                 lambda *_: counts.__setitem__("sql_statements", counts["sql_statements"] + 1))
    _count_calls(redis.connection.AbstractConnection, "send_packed_command", counts,
                 "redis_round_trips")
    client = app.test_client()
    headers = {"Content-Type": "application/json"}
    for i in range(20):  # warm: pool, prepared statements, Redis scripts
        client.post("/webhooks/strava", data=_event(900_000 + i), headers=headers)
    for key in counts:
        counts[key] = 0
    start = os.path.getsize(trace.name)
    cpu = time.process_time()
    for i in range(requests_n):
        assert client.post("/webhooks/strava", data=_event(800_000 + i),
                           headers=headers).status_code == 200
    cpu = time.process_time() - cpu
    rt.close()
    with open(trace.name) as f:
        f.seek(start)
        lines = f.read().splitlines()
    counts["db_round_trips"] = sum("\tReadyForQuery\t" in ln for ln in lines)
    sent = [ln for ln in lines if "\tF\t" in "\t" + ln]  # frontend messages (timestamps vary)
    counts["db_statements_parsed"] = sum("\tParse\t" in ln for ln in sent)
    counts["db_simple_queries"] = sum("\tQuery\t" in ln for ln in sent)
    out = {k: round(v / requests_n, 2) for k, v in counts.items()}
    out["cpu_ms_in_process"] = round(cpu * 1000 / requests_n, 2)
    return out


def _count_calls(cls, name: str, counts: dict, key: str) -> None:
    original = getattr(cls, name)

    def counted(self, *args, **kwargs):
        counts[key] += 1
        return original(self, *args, **kwargs)

    setattr(cls, name, counted)


# ---- server CPU under the load -------------------------------------------------------------------


def _proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (with its reaped children's, when asked)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14])
                                                 if children else 0)
    return ticks / TICKS


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _server_cpu(master: int) -> float:
    """gunicorn: the master, its recycled (reaped) workers and the live ones."""
    return _proc_cpu(master, children=True) + sum(_proc_cpu(c) for c in _children(master))


class BackendCpu:
    """CPU of the PostgreSQL backends serving the bench database, sampled every second (a
    backend of a recycled web process is gone by the end; its last sample still counts)."""

    def __init__(self, dbname: str) -> None:
        self.tag = f" {dbname} ".encode()
        self.seen: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self._stop = threading.Event()
        self.start = self._sample()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _sample(self) -> dict[int, float]:
        out = {}
        for cmd in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                raw = cmd.read_bytes()
            except OSError:
                continue
            if raw.startswith(b"postgres: ") and self.tag in raw:
                out[int(cmd.parent.name)] = _proc_cpu(int(cmd.parent.name))
        return out

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.seen.update(self._sample())

    def stop(self) -> float:
        self._stop.set()
        self.thread.join()
        self.seen.update(self._sample())
        return sum(v - self.start.get(pid, 0.0) for pid, v in self.seen.items())


# ---- one run, and the comparison -----------------------------------------------------------------


def _in_tree(tree: Path, db: str, *args: str) -> str:
    """Run this script's `args` mode with the tree's code (its `service` package first)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "BENCH_DATABASE_URL": db}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed in {tree}:\n{done.stderr[-3000:]}")
    return done.stdout


def run_once(tree: Path, db: str, rate: float, seconds: float) -> dict:
    key = Fernet.generate_key().decode()
    os.environ["BENCH_FERNET_KEY"] = key  # the prepared athlete's token and the server agree
    _in_tree(tree, db, "--prepare")
    per_request = json.loads(_in_tree(tree, db, "--probe"))
    _in_tree(tree, db, "--prepare")  # the probe's rows out of the way
    env = {**_env(db), "KNEEGUARD_ENCRYPTION_KEYS": key}
    port = free_port()
    server = _start_server(env, port, tree)
    load_before = _load()
    backends = BackendCpu(db.rsplit("/", 1)[1])
    cpu0 = _server_cpu(server.pid)
    try:
        started = time.perf_counter()
        latencies, errors = _drive(f"http://127.0.0.1:{port}/webhooks/strava", rate, seconds)
        wall = time.perf_counter() - started
        cpu = _server_cpu(server.pid) - cpu0
    finally:
        pg_cpu = backends.stop()
        server.terminate()
        server.wait(timeout=30)
    n = max(1, len(latencies))
    return {"requests": len(latencies), "seconds": round(wall, 1),
            "achieved_rps": round(len(latencies) / wall, 1), "errors": errors,
            "p50_ms": round(_pct(latencies, 0.50), 1), "p99_ms": round(_pct(latencies, 0.99), 1),
            "max_ms": round(max(latencies) * 1000, 1),
            "server_cpu_ms_per_request": round(cpu * 1000 / n, 2),
            "postgres_cpu_ms_per_request": round(pg_cpu * 1000 / n, 2),
            "per_request": per_request, "load_average": [load_before, _load()]}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _other_tree(rev: str, folder: Path) -> tuple[Path, str]:
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.strip()
    tree = folder / f"intake-{commit}"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), commit], cwd=REPO,
                   check=True)
    return tree, commit


def _summary(runs: list[dict]) -> dict:
    keys = ("p50_ms", "p99_ms", "errors", "server_cpu_ms_per_request",
            "postgres_cpu_ms_per_request")
    out = {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}
    out["p99_ms_each_run"] = [r["p99_ms"] for r in runs]
    out["per_request"] = runs[-1]["per_request"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s per run")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--compare", default="HEAD^", metavar="REV",
                        help="the commit to compare with (default: the parent of HEAD)")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--rounds", type=int, help="runs of each tree (default 2; 1 with --quick)")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return _prepare(_env(DB))
    if args.probe:
        return print(json.dumps(probe()))
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    rounds = args.rounds or (1 if args.quick else 2)
    out: dict = {"rate": args.rate, "seconds_per_run": seconds, "load_average_start": _load()}
    with tempfile.TemporaryDirectory(prefix="kg-intake-") as tmp:
        trees = [("this", REPO, DB)]
        if not args.no_compare:
            tree, commit = _other_tree(args.compare, Path(tmp))
            trees.append((f"{args.compare} ({commit})", tree, DB + "_prev"))
        try:
            runs: dict[str, list[dict]] = {name: [] for name, *_ in trees}
            for _ in range(rounds):
                for name, tree, db in trees:  # alternating: both see the same machine
                    runs[name].append(run_once(tree, db, args.rate, seconds))
        finally:
            for _name, tree, _db in trees[1:]:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO,
                               check=False)
    out["runs"] = runs
    out["summary"] = {name: _summary(rs) for name, rs in runs.items()}
    this = out["summary"]["this"]
    out["load_average_end"] = _load()
    out["target_met"] = this["errors"] == 0 and this["p99_ms"] <= 50.0
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
