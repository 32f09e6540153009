"""`kneeguard import` of a ten-year Strava export, end to end.

    python bench/import.py                 # 3,650 runs, one a day, on the embedded default
    python bench/import.py --runs 400      # a smaller archive first
    DATABASE_URL=postgresql://… REDIS_URL=redis://… python bench/import.py   # + two RQ workers

Builds (once, cached under $TMPDIR/kneeguard-bench) a deterministic archive in Strava's bulk
export layout: `activities.csv` + `activities/<id>.fit.gz|.gpx.gz`, one run a day ending the day
before `--end` (default: today), made from the real running files in ../shared/data re-dated
(every FIT date_time field and GPX <time> shifted by whole days, FIT CRC recomputed), plus a few
ordinary oddities: a GPX without elevation, a truncated FIT, manual entries. Then runs
`kneeguard import` in a subprocess on a fresh database and prints JSON: runs/s, wall time, peak
RSS of the import's process tree (pool workers included), time from the start to the first finding
dated in the most recent 4 weeks, and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from service.infra.corpus import ACTIVITIES
from testkit.processes import rss_kb, tree
from workers.parsing.fit import fit_crc
from workers.parsing.formats import parse_single
from workers.parsing.track import InvalidFile

DATA = ACTIVITIES
MAX_SOURCE_BYTES = 400_000  # realistic 1 Hz runs; the two biggest files would only slow the build
CSV_HEADER = ["Activity ID", "Activity Date", "Activity Name", "Activity Type",
              "Activity Description", "Elapsed Time", "Distance", "Activity Gear", "Filename",
              "Moving Time", "Distance"]
EMAIL = "bench-import@example.com"


def _date_time_fields() -> set[tuple[int, int]]:
    import fitparse.profile as profile

    out = set()
    for num, mesg in profile.MESSAGE_TYPES.items():
        for fnum, fld in mesg.fields.items():
            if getattr(fld.type, "name", "") in ("date_time", "local_date_time"):
                out.add((num, fnum))
    return out


_DATE_TIMES = _date_time_fields()


def redate_fit(data: bytes, shift_s: int, times: list[tuple[int, str]] | None = None) -> bytes:
    """Shift every absolute date_time (and every timestamp field) by `shift_s` seconds, a
    multiple of 32 so compressed-timestamp headers stay valid; recompute each file's CRC."""
    buf = bytearray(data)
    for at, endian in time_offsets(data) if times is None else times:
        value = struct.unpack_from(endian + "I", buf, at)[0]
        if 0x10000000 <= value < 0xFFFFFFFF:
            struct.pack_into(endian + "I", buf, at, value + shift_s)
    pos = 0
    while pos + 12 <= len(buf):
        end = pos + buf[pos] + struct.unpack_from("<I", buf, pos + 4)[0]
        struct.pack_into("<H", buf, end, fit_crc(memoryview(buf)[pos:end]))
        pos = end + 2
    return bytes(buf)


def time_offsets(data: bytes) -> list[tuple[int, str]]:
    """(byte offset, endianness) of every date_time value in a FIT file (chained files too)."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        end = pos + data[pos] + struct.unpack_from("<I", data, pos + 4)[0]
        out += _message_times(data, pos + data[pos], end)
        pos = end + 2
    return out


def _message_times(buf: bytes, i: int, end: int) -> list[tuple[int, str]]:
    layouts: dict[int, tuple[int, list[int], str]] = {}
    out = []
    while i < end:
        head = buf[i]
        i += 1
        if head & 0xC0 == 0x40:  # definition message
            endian = ">" if buf[i + 1] else "<"
            mesg = struct.unpack_from(endian + "H", buf, i + 2)[0]
            count, i = buf[i + 4], i + 5
            offset, times = 0, []
            for _ in range(count):
                num, size = buf[i], buf[i + 1]
                if size == 4 and (num == 253 or (mesg, num) in _DATE_TIMES):
                    times.append(offset)
                offset, i = offset + size, i + 3
            if head & 0x20:  # developer fields: a count, then (number, size, index) each
                count, i = buf[i], i + 1
                for _ in range(count):
                    offset, i = offset + buf[i + 1], i + 3
            layouts[head & 0x0F] = (offset, times, endian)
            continue
        local = (head >> 5) & 0x03 if head & 0x80 else head & 0x0F
        size, times, endian = layouts[local]
        out += [(i + at, endian) for at in times]
        i += size
    return out


_GPX_TIME = re.compile(rb"<time>([^<]+)</time>")


def redate_gpx(data: bytes, shift_s: int) -> bytes:
    def one(match: re.Match) -> bytes:
        try:
            moment = datetime.fromisoformat(match.group(1).decode().strip().replace("Z", "+00:00"))
        except ValueError:
            return match.group(0)
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) + timedelta(
            seconds=shift_s)
        return b"<time>" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b"</time>"

    return _GPX_TIME.sub(one, data)


def sources() -> list[tuple]:
    """(kind, bytes, start, FIT time offsets) of every real running file usable as a template."""
    out = []
    for kind in ("fit", "gpx"):
        for path in sorted((DATA / kind).glob(f"*.{kind}")):
            data = path.read_bytes()
            if len(data) > MAX_SOURCE_BYTES:
                continue
            try:
                tracks = parse_single(data, light=True)[1]
            except InvalidFile:  # e.g. a file whose clock was never set (1901)
                continue
            if len(tracks) == 1 and tracks[0].is_run and tracks[0].distance_m >= 3000:
                times = time_offsets(data) if kind == "fit" else None
                out.append((kind, data, tracks[0].start_time, times))
    return out


def build_archive(path: Path, runs: int, end: date, oddities: bool = True) -> None:
    rng = random.Random(18)
    templates = sources()
    fits = [t for t in templates if t[0] == "fit"]
    gpxs = [t for t in templates if t[0] == "gpx"]
    first = end - timedelta(days=runs)
    rows = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for n in range(runs):
            kind, data, start, times = rng.choice(gpxs if rng.random() < 0.2 else fits)
            target = datetime(first.year, first.month, first.day, 6, tzinfo=UTC) + timedelta(
                days=n, minutes=32 * rng.randrange(0, 60))
            shift = int((target - start).total_seconds()) // 32 * 32
            body = redate_fit(data, shift, times) if kind == "fit" else redate_gpx(data, shift)
            name = f"activities/{1000 + n}.{kind}.gz"
            archive.writestr(name, gzip.compress(body, compresslevel=6, mtime=0))
            when = start + timedelta(seconds=shift)
            rows.append([str(1000 + n), when.strftime("%b %-d, %Y, %-I:%M:%S %p"),
                         f"Run {n}", "Run", "", "", "", "Shoe A" if n % 700 < 500 else "Shoe B",
                         name, "", ""])
        if oddities:
            _oddities(archive, rows, end)
        out = io.StringIO()
        csv.writer(out).writerows([CSV_HEADER, *rows])
        archive.writestr("activities.csv", out.getvalue())


def _oddities(archive: zipfile.ZipFile, rows: list, end: date) -> None:
    """What real exports hold besides clean runs: a walk without elevation, a broken file,
    a treadmill run typed in by hand."""
    walk = (DATA / "gpx" / "gpxpy__cerknicko-jezero-without-elevations.gpx").read_bytes()
    archive.writestr("activities/900.gpx.gz", gzip.compress(walk, mtime=0))
    rows.append(["900", "Aug 5, 2010, 2:23:59 PM", "Lake walk", "Walk", "", "", "", "",
                 "activities/900.gpx.gz", "", ""])
    broken = (DATA / "fit" / "msimms__20210507_run_garmin_fenix_6.fit").read_bytes()[:5000]
    archive.writestr("activities/901.fit.gz", gzip.compress(broken, mtime=0))
    rows.append(["901", "May 7, 2021, 1:43:39 PM", "Broken", "Run", "", "", "", "",
                 "activities/901.fit.gz", "", ""])
    typed = end - timedelta(days=400)
    rows.append(["902", typed.strftime("%b %-d, %Y, 7:00:00 AM"), "Treadmill", "Run", "",
                 "1800", "5.0", "", "", "1800", "5000.0"])


class TreeSampler(threading.Thread):
    """Peak summed RSS of a process and its descendants, from /proc every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, sum(rss_kb(p) or 0 for p in tree(self.pid)))
            self.done.wait(0.2)


def first_recent_finding(url: str, since: date, started: float, stop: threading.Event,
                         out: dict) -> None:
    """Poll the database for the first finding dated on or after `since`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    while not stop.is_set():
        try:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT count(*) FROM findings WHERE date >= :d"),
                                     {"d": since.isoformat()}).scalar()
            if found:
                out["first_recent_finding_s"] = round(time.monotonic() - started, 1)
                return
        except Exception:  # tables not created yet, or a writer holds the lock
            pass
        stop.wait(0.5)
    engine.dispose()


def run_import(archive: Path, env: dict, end: date, workers: int) -> dict:
    cmd = [sys.executable, "-c", "from service.cli import main; main()", "import", str(archive),
           "--athlete", EMAIL, "--create-athlete", "--json"]
    found: dict = {}
    stop = threading.Event()
    helpers = [_start_worker(env) for _ in range(workers)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=env["BENCH_DIR"])
    sampler = TreeSampler(proc.pid)
    sampler.start()
    poller = threading.Thread(target=first_recent_finding, daemon=True, args=(
        env["DATABASE_URL"], end - timedelta(days=28), started, stop, found))
    poller.start()
    output, _ = proc.communicate()
    if workers:
        _wait_analysed(env["DATABASE_URL"])
    wall = time.monotonic() - started
    sampler.done.set()
    stop.set()
    poller.join(timeout=5)
    for helper in helpers:
        helper.terminate()
        helper.wait(timeout=30)
    summary = json.loads(output or b"{}")
    return {"exit": proc.returncode, "wall_s": round(wall, 1),
            "peak_rss_mb": round(sampler.peak_kb / 1024), **found,
            "created": summary.get("counts", {}).get("created"),
            "skipped": summary.get("counts", {}).get("skipped"),
            "findings": summary.get("counts", {}).get("findings")}


def _start_worker(env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from service.cli import main; main()", "worker"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=env["BENCH_DIR"])


def _wait_analysed(url: str) -> None:
    """With workers, the import returns once everything is stored and the analysis is queued."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    while True:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM activities WHERE status = 'parsed'"))
            if not left.scalar():
                break
        time.sleep(0.5)
    engine.dispose()


def _fresh_postgres(url: str, redis_url: str) -> None:
    import redis
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    redis.Redis.from_url(redis_url).flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3650)
    parser.add_argument("--end", type=date.fromisoformat, default=datetime.now(UTC).date())
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "kneeguard-bench"
    cache.mkdir(exist_ok=True)
    archive = cache / f"strava-export-{args.runs}-{args.end}.zip"
    if not archive.exists():
        t0 = time.monotonic()
        build_archive(archive.with_suffix(".part"), args.runs, args.end)
        archive.with_suffix(".part").rename(archive)
        print(f"built {archive} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    results = {"runs": args.runs, "archive_mb": round(archive.stat().st_size / 2**20),
               "cores": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.db", "LOG_LEVEL": "WARNING",
               "BENCH_DIR": tmp, "EMAIL_OUTBOX_DIR": f"{tmp}/outbox"}
        env.pop("REDIS_URL", None)
        results["embedded"] = run_import(archive, env, args.end, workers=0)
        print(json.dumps({"embedded": results["embedded"], "load": os.getloadavg()}),
              file=sys.stderr, flush=True)
    if os.environ.get("DATABASE_URL", "").startswith("postgresql") and os.environ.get("REDIS_URL"):
        _fresh_postgres(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
        from cryptography.fernet import Fernet

        with tempfile.TemporaryDirectory() as tmp:
            env = {"KNEEGUARD_SECRET_KEY": "bench-import", "KNEEGUARD_SWEEP_INTERVAL": "30",
                   "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode(), **os.environ,
                   "LOG_LEVEL": "WARNING", "BENCH_DIR": tmp, "EMAIL_OUTBOX_DIR": f"{tmp}/outbox"}
            results["postgres_redis_2_workers"] = run_import(archive, env, args.end, workers=2)
    results["load_after"] = os.getloadavg()
    for key in ("embedded", "postgres_redis_2_workers"):
        if key in results and results[key]["wall_s"]:
            results[key]["runs_per_s"] = round(args.runs / results[key]["wall_s"], 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
