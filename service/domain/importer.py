"""`kneeguard import`: files, folders and export archives into one runner's stored history.

A ten-year export is thousands of files, so (figures in docs/decisions.md, issue 18):
* archives are streamed member by member, newest first by their activities.csv date;
* a member whose exact bytes already gave this athlete activities is a duplicate before any
  decode (`activities.identical_bytes`, as for uploads): a re-import decodes nothing;
* files are parsed and measured in a pool of processes (`workers.import_parse`), at most a few
  in flight, and stored in batches in submission order by this process;
* runs older than `FULL_DAYS` before the newest one are decoded light (records skimmed for time
  and distance): the rules read old runs for distance only;
* analysis runs once per athlete (`workers.analyze_import`), not once per file: an early pass
  over the recent weeks as soon as they are stored (findings on screen while old years load), and
  a final pass over every day, which plans the deliveries.
One bad file is one skip with its reason; nothing a file holds stops the import.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from service.domain import activities
from service.infra import jobs
from service.models import Finding, RawFile, utcnow
from workers.analysis.windows import FULL_METRICS_DAYS
from workers.parsing import FOLDER_SUFFIXES
from workers.parsing.archives import Member, count_members, iter_members
from workers.parsing.formats import MAX_SINGLE_BYTES, ZIP_MAGICS
from workers.parsing.track import InvalidFile, ParsedFile, Skip

RECENT_DAYS = 35  # the rules' longest window (weekly_descent)
FULL_DAYS = RECENT_DAYS + FULL_METRICS_DAYS  # runs this close to the newest are decoded in full
# The early pass analyses the last 4 weeks once the runs of those weeks and of the windows most
# rules read before them are stored (baselines and ACWR may still move: the final pass redoes
# these days and drops what no longer holds; nothing is delivered before it).
EARLY_DAYS = 28
EARLY_AFTER_DAYS = EARLY_DAYS + RECENT_DAYS
BATCH = 32  # files per transaction
POOL_MIN_FILES = 8  # fewer files are parsed in this process (a pool costs a second to start)


@dataclass(slots=True)
class Unit:
    """One file to parse: a plain file or an archive member."""

    label: str
    data: bytes
    source: str
    row: dict | None = None
    date: datetime | None = None
    light: bool = False
    full_from: float | None = None  # POSIX start from which a run must be decoded in full


@dataclass(slots=True)
class Parsed:
    """A skip or a typed-in entry (nothing to parse), with the source of its archive."""

    parsed: ParsedFile
    source: str


@dataclass
class Report:
    athlete_id: str
    result: activities.IngestResult = field(default_factory=activities.IngestResult)
    first_start: datetime | None = None
    last_start: datetime | None = None
    light_last: datetime | None = None  # newest run decoded light
    findings: int | None = None
    analysis: str = "not needed"

    def note(self, run: dict, light: bool) -> None:
        start = run["start_time"]
        self.first_start = min(self.first_start or start, start)
        self.last_start = max(self.last_start or start, start)
        if light:
            self.light_last = max(self.light_last or start, start)


def count_units(paths: list[str]) -> int:
    """For the progress bar: files named or found in folders, members listed in archives."""
    total = 0
    for path in expand(paths):
        total += count_members(path) if _is_zip(path) else 1
    return total


def expand(paths: list[str]) -> list[str]:
    """Files named on the command line, plus activity-looking files inside folders."""
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(str(f) for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")
                          and f.name.lower().endswith(FOLDER_SUFFIXES))
        else:
            out.append(str(p))
    return out


def _is_zip(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in ZIP_MAGICS
    except OSError:
        return False


def iter_units(paths: list[str], source: str | None) -> Iterator[Unit | Parsed]:
    """Units to parse, and skips and typed-in entries (already parsed)."""
    for path in expand(paths):
        try:
            if _is_zip(path):
                yield from _archive_units(path, source)
            elif os.path.getsize(path) > MAX_SINGLE_BYTES:
                yield _skip(path, f"file larger than {MAX_SINGLE_BYTES // 2**20} MiB")
            else:
                yield Unit(path, Path(path).read_bytes(), source or "upload")
        except InvalidFile as exc:
            yield _skip(path, str(exc))
        except OSError as exc:
            yield _skip(path, f"cannot read: {exc.strerror or exc}")


def _archive_units(path: str, source: str | None) -> Iterator[Unit | Parsed]:
    kind = source or activities.guess_archive_source(path)
    cutoff = None
    with open(path, "rb") as handle:
        for item in iter_members(handle, path, newest_first=True):
            if not isinstance(item, Member):
                yield Parsed(item, kind)
                continue
            if item.date is not None and cutoff is None:  # newest first: the first date is the newest
                cutoff = item.date - timedelta(days=FULL_DAYS)
            light = bool(cutoff and item.date and item.date < cutoff)
            yield Unit(item.label, item.data, kind, item.row, item.date, light,
                       cutoff.timestamp() if cutoff else None)


def _skip(label: str, reason: str) -> Parsed:
    return Parsed(ParsedFile(file=label, skipped=[Skip(file=label, reason=reason)]), "upload")


def run_import(runtime, athlete_id: str, paths: list[str], source: str | None,
               on_file: Callable[[str], None] = lambda label: None, *,
               on_stage: Callable[[str], None] = lambda stage: None) -> Report:
    """Parse, store and analyse; returns what happened. Never raises for a bad file.
    `on_file(label)` after each file, `on_stage("early" | "final")` before each analysis pass."""
    pipeline = _Pipeline(runtime, Report(athlete_id), on_file, on_stage)
    with _Pool(count_units(paths)) as pool:
        for item in iter_units(paths, source):
            pipeline.add(item, pool)
        pipeline.finish()
    pipeline.analyse(final=True)
    return pipeline.report


class _Pool:
    """A process pool when there is enough to parse, else this process."""

    def __init__(self, files: int) -> None:
        self.workers = max(1, min(os.cpu_count() or 1, 8))
        self.executor: ProcessPoolExecutor | None = None
        self.pooled = files >= POOL_MIN_FILES and self.workers > 1
        self.window = 3 * self.workers if self.pooled else 1

    def submit(self, unit: Unit) -> Future | dict:
        from workers.import_parse import parse_unit

        args = (unit.label, unit.data, unit.row, unit.light, unit.full_from)
        if not self.pooled:
            return parse_unit(*args)
        if self.executor is None:  # started at the first file to decode: a re-import needs none
            # spawn: children start clean (no inherited database connections or queue threads)
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self.executor.submit(parse_unit, *args)

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)


class _Pipeline:
    """Results consumed in submission order (newest first), stored in batches."""

    def __init__(self, runtime, report: Report, on_file: Callable[[str], None],
                 on_stage: Callable[[str], None] = lambda stage: None) -> None:
        self.rt, self.report, self.on_file, self.on_stage = runtime, report, on_file, on_stage
        self.since = utcnow()
        self.inflight: deque[tuple[Unit | None, Future | dict]] = deque()
        self.batch: list[tuple[Unit | None, dict]] = []
        self.early_done = False
        self.window = 1

    def add(self, item: Unit | Parsed, pool: _Pool) -> None:
        from workers.import_parse import measure

        self.window = pool.window
        if isinstance(item, Unit):
            self.inflight.append((item, self._same_bytes(item) or pool.submit(item)))
        else:  # a skip or a typed-in entry: nothing to parse
            result = measure(item.parsed, item.parsed.file, False)
            result["source"] = item.source
            self.inflight.append((None, result))
        while len(self.inflight) > self.window or (self.inflight and _done(self.inflight[0][1])):
            self._consume(*self.inflight.popleft())

    def _same_bytes(self, unit: Unit) -> dict | None:
        """Bytes this athlete already has activities from are a duplicate before any decode: a
        re-imported archive costs a hash per member, not a FIT decode (`_store` answers it)."""
        sha = hashlib.sha256(unit.data).hexdigest()
        with self.rt.db.session() as s:
            _, answer = activities.identical_bytes(s, self.report.athlete_id, sha, unit.label)
        if answer is None:
            return None
        return {"label": unit.label, "sha256": sha, "light": False, "tracks": [], "skipped": [],
                "same_bytes": True}

    def finish(self) -> None:
        while self.inflight:
            self._consume(*self.inflight.popleft())
        self._flush()

    def _consume(self, unit: Unit | None, pending: Future | dict) -> None:
        result = _result(unit, pending)
        if not self.early_done and unit is not None and self._recent_stored(unit):
            self._flush()
            self.analyse(final=False)
        self.batch.append((unit, result))
        self.on_file(result["label"])
        if len(self.batch) >= BATCH:
            self._flush()

    def _recent_stored(self, unit: Unit) -> bool:
        """Newest first: is this unit older than the windows the last 4 weeks read?"""
        last = self.report.last_start or max((u.date for u, _ in self.batch if u and u.date),
                                             default=None)
        if unit.light:
            return True
        return bool(last and unit.date and unit.date < last - timedelta(days=EARLY_AFTER_DAYS))

    def _flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        try:
            with self.rt.db.session() as s:
                results = [_store(s, self.report, unit, result) for unit, result in batch]
        except Exception:  # one file the database refuses: store the others one by one
            results = [self._store_alone(unit, result) for unit, result in batch]
        for one in results:
            self.report.result.extend(one)

    def _store_alone(self, unit: Unit | None, result: dict) -> activities.IngestResult:
        try:
            with self.rt.db.session() as s:
                return _store(s, self.report, unit, result)
        except Exception as exc:
            reason = f"could not be stored: {type(exc).__name__}: {str(exc)[:200]}"
            return activities.IngestResult(skipped=[{"file": result["label"], "reason": reason}])

    def analyse(self, final: bool) -> None:
        """Enqueue the athlete's analysis (embedded default: run it now, in this process)."""
        r = self.report
        self.early_done = True
        if r.last_start is None:
            return
        self.on_stage("final" if final else "early")
        first = (r.first_start or r.last_start) if final else r.last_start - timedelta(days=EARLY_DAYS)
        light_until = None
        if final and r.light_last is not None:
            light_until = (r.light_last + timedelta(days=FULL_METRICS_DAYS + 1)).date().isoformat()
        if final:
            with self.rt.db.session() as s:
                activities.reanalyze_later(s, r.athlete_id, [r.first_start, r.last_start])
        key = f"{r.athlete_id}-{'final' if final else 'early'}-{self.since.timestamp():.0f}"
        jobs.analyze_import(self.rt, r.athlete_id, first.date().isoformat(),
                            r.last_start.date().isoformat(), light_until, self.since.isoformat(),
                            final, key=key)
        if self.rt.queue.embedded:
            self.rt.queue.drain()
            r.analysis = "done" if not final or not self._waiting(r.athlete_id) else "incomplete"
        else:
            r.analysis = "queued"
        if final and r.analysis == "done":
            with self.rt.db.session() as s:
                r.findings = s.scalar(select(func.count(Finding.id)).where(
                    Finding.athlete_id == r.athlete_id, Finding.created_at >= self.since))

    def _waiting(self, athlete_id: str) -> int:
        """Runs still waiting for analysis after the final pass: the job failed (its error is in
        the log and in `kneeguard jobs failed`); the sweeper analyses them run by run."""
        from service.models import Activity

        with self.rt.db.session() as s:
            return s.scalar(select(func.count(Activity.id)).where(
                Activity.athlete_id == athlete_id, Activity.status == "parsed")) or 0


def _done(pending: Future | dict) -> bool:
    return not isinstance(pending, Future) or pending.done()


def _result(unit: Unit | None, pending: Future | dict) -> dict:
    if not isinstance(pending, Future):
        return pending
    try:
        return pending.result()
    except Exception as exc:  # a worker died (out of memory, killed): this file is skipped
        reason = f"parser failed: {type(exc).__name__}: {exc}"
        label = unit.label if unit is not None else "?"  # a pending future always has its unit
        return {"label": label, "sha256": None, "light": False, "tracks": [],
                "skipped": [{"file": label, "reason": reason}]}


def _store(s, report: Report, unit: Unit | None, result: dict) -> activities.IngestResult:
    if unit is not None and result["sha256"]:
        known, answer = activities.identical_bytes(s, report.athlete_id, result["sha256"],
                                                   unit.label)
        if answer is not None:
            return answer
        if known is not None:  # stored without an activity of its own: decoded again, kept anew
            s.delete(known)
            s.flush()
    out = activities.IngestResult(skipped=list(result["skipped"]))
    if result.get("same_bytes"):  # recognised before decoding, its runs deleted since then
        out.skipped.append({"file": result["label"], "reason": "its runs were deleted while "
                            "importing; import it again"})
        return out
    if not result["tracks"]:
        if not out.skipped:
            out.skipped.append({"file": result["label"], "reason": "no activity found in the file"})
        return out
    raw_id = None
    if unit is not None:
        raw = RawFile(athlete_id=report.athlete_id, source=unit.source, filename=unit.label[:500],
                      sha256=result["sha256"], size=len(unit.data), data=unit.data,
                      expires_at=activities.policy.raw_expiry(unit.source, utcnow()))
        s.add(raw)
        s.flush()
        raw_id = raw.id
    source = unit.source if unit is not None else result.get("source", "upload")
    for leg, run in enumerate(result["tracks"]):
        stored = activities.store_measured(s, report.athlete_id, run, source,
                                           raw_file_id=raw_id, leg=leg)
        if stored.created:
            report.note(run, result["light"])
        out.extend(stored)
    if raw_id is not None and not out.created:
        s.execute(delete(RawFile).where(RawFile.id == raw_id))  # every run was already here
    return out
