"""A private production-shaped stack for fault and timing benches: its own PostgreSQL cluster and
its own Redis on free loopback ports, so a bench may restart or flush them without touching
anything else on the machine.

    with Stack() as stack:
        stack.env            # DATABASE_URL, REDIS_URL, keys, outbox for `kneeguard` processes
        stack.worker()       # a `kneeguard worker` process (Popen)
        stack.restart_postgres(); stack.flush_redis()

The cluster is created with `initdb` in a temporary folder (as the `postgres` user when run as
root, which initdb refuses), started with `pg_ctl` on a free port with its socket in the same
folder, and removed at the end.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from cryptography.fernet import Fernet

from service.infra.loopback import free_port

CLI = str(Path(sys.executable).with_name("kneeguard"))


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"{name} not found (PostgreSQL server binaries)")
    return found[-1]


class Stack:
    def __init__(self, workers: int = 2, extra_env: dict | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="kg-stack-"))
        self.pg_port, self.redis_port = free_port(), free_port()
        self.pgdata = self.tmp / "pgdata"
        self.procs: list[subprocess.Popen] = []
        self.n_workers = workers
        self.env = {**os.environ, "LOG_LEVEL": "WARNING", "KNEEGUARD_SECRET_KEY": "bench",
                    "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                    "EMAIL_OUTBOX_DIR": str(self.tmp / "outbox"),
                    "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres",
                    "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "KNEEGUARD_RATE_LIMITS": json.dumps({"key": 1_000_000, "address": 1_000_000}),
                    **(extra_env or {})}

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        self._as_postgres([_pg_bin("initdb"), "-D", str(self.pgdata), "-U", "postgres",
                           "--auth=trust", "-E", "UTF8"], quiet=True)
        self.start_postgres()
        self.start_redis()
        from service.infra import migrate

        migrate.upgrade(self.env["DATABASE_URL"])
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        self.stop_postgres()
        self.stop_redis()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _as_postgres(self, cmd: list[str], quiet: bool = False) -> None:
        if os.geteuid() == 0:
            os.chown(self.tmp, _uid("postgres"), -1)
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL if quiet else None,
                       stderr=subprocess.DEVNULL if quiet else None)

    def start_postgres(self) -> None:
        opts = f"-p {self.pg_port} -k {self.tmp} -c listen_addresses=127.0.0.1 " \
               "-c fsync=off -c max_connections=200"
        self._as_postgres([_pg_bin("pg_ctl"), "-D", str(self.pgdata), "-o", opts, "-w", "-l",
                           str(self.tmp / "pg.log"), "start"], quiet=True)

    def stop_postgres(self, mode: str = "fast") -> None:
        if self.pgdata.exists():
            try:
                self._as_postgres([_pg_bin("pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w",
                                   "stop"], quiet=True)
            except subprocess.CalledProcessError:
                pass

    def restart_postgres(self) -> float:
        """Stop (fast: connections are cut) and start again; returns the seconds it was down."""
        t0 = time.monotonic()
        self.stop_postgres("fast")
        self.start_postgres()
        return time.monotonic() - t0

    def start_redis(self) -> None:
        subprocess.run(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--maxmemory-policy", "noeviction",
                        "--pidfile", str(self.tmp / "redis.pid"),
                        "--logfile", str(self.tmp / "redis.log")], check=True)
        client = redis.Redis(port=self.redis_port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)

    def stop_redis(self) -> None:
        pid_file = self.tmp / "redis.pid"
        if pid_file.exists():
            try:
                redis.Redis(port=self.redis_port).shutdown(nosave=True)
            except redis.RedisError:
                pass

    def flush_redis(self) -> None:
        redis.Redis(port=self.redis_port).flushall()

    # -- processes -------------------------------------------------------------------------------

    def worker(self, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen([CLI, "worker", *args], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=open(self.tmp / f"worker-{len(self.procs)}.log", "wb"))
        self.procs.append(proc)
        return proc

    def serve(self, port: int, workers: int = 2) -> subprocess.Popen:
        proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", str(workers)],
                                env=self.env, stdout=subprocess.DEVNULL,
                                stderr=open(self.tmp / "serve.log", "wb"))
        self.procs.append(proc)
        return proc

    def cli(self, *args: str) -> dict:
        done = subprocess.run([CLI, *args], env=self.env, check=True, capture_output=True,
                              text=True)
        return json.loads(done.stdout)


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid
