"""Strava bulk export and Garmin "Export Your Data" zips, read as a stream of members.

Nothing is extracted to disk. `zipfile` trusts the sizes an archive declares (and this Python lacks
the overlapping-entry bomb fix), so every member is read through our own byte counter: caps on the
entry count, on each member's declared and actual size, on its actual compression ratio and on the
total bytes inflated for the whole archive (nested zips share the parent's budget). A member that
breaks a cap, or fails to parse, becomes a Skip; only an unreadable archive or one with too many
entries is refused as a whole.

Strava: `activities.csv` (parsed by header name; names repeat, the first occurrence wins except for
the metre "Distance" column) gives each file its name, gear and sport, and rows without a file are
manual entries. Garmin: FIT files sit in nested zips under DI_CONNECT/DI-Connect-Uploaded-Files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import BinaryIO

from workers.parsing.fit import MAX_FIT_BYTES
from workers.parsing.formats import gunzip, parse_single
from workers.parsing.gpx import MAX_GPX_BYTES
from workers.parsing.plain_words import zip_error
from workers.parsing.streams import strava_sport
from workers.parsing.track import InvalidFile, ParsedFile, Skip, Track

MAX_ARCHIVE_ENTRIES = 10_000  # over the archive and all nested zips
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # a nested zip or activities.csv
MAX_ARCHIVE_TOTAL_BYTES = 1024 * 1024 * 1024  # inflated bytes actually read, all members
MAX_COMPRESSION_RATIO = 200
MAX_NESTING = 1  # Garmin nests one level of zips; deeper is a bomb, not an export
_CHUNK = 1024 * 1024
_ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx")  # JSON there is summaries, not streams
_CSV_DATE = "%b %d, %Y, %I:%M:%S %p"  # Strava's "Activity Date" (UTC)


@dataclass(slots=True)
class _Budget:
    entries: int = 0
    inflated: int = 0


@dataclass(slots=True)
class _StravaCsv:
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    manual: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Member:
    """One activity file read out of an archive, not yet parsed."""

    label: str  # "archive.zip!member"
    data: bytes
    row: dict[str, str] | None = None  # its activities.csv row (Strava)
    date: datetime | None = None  # from that row: lets a caller order or triage before parsing


def iter_archive(source: bytes | BinaryIO, name: str) -> Iterator[ParsedFile]:
    """One ParsedFile per activity member (and per skipped member). Raises InvalidFile only
    when the archive itself is unreadable or has too many entries."""
    for item in iter_members(source, name):
        yield parse_member(item) if isinstance(item, Member) else item


def parse_member(member: Member, *, light: bool = False) -> ParsedFile:
    """Parse one member; a bad one becomes a Skip (see `parse_fit` for `light`)."""
    try:
        return _parse(member.data, member.label, member.row, light)
    except InvalidFile as exc:
        return _skip(member.label, str(exc))
    except Exception as exc:  # a parser bug on one odd file must not cost the rest
        return _skip(member.label, f"unreadable archive member: {exc}")


def iter_members(source: bytes | BinaryIO, name: str, *, newest_first: bool = False,
                 _budget: _Budget | None = None, _depth: int = 0
                 ) -> Iterator[Member | ParsedFile]:
    """Activity members as raw bytes (one in memory at a time), skips and manual entries as
    ParsedFiles. `newest_first` orders members by their activities.csv date, newest first
    (members without a date come first). Raises InvalidFile only when the archive itself is
    unreadable or has too many entries."""
    budget = _budget or _Budget()
    fileobj = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        archive = zipfile.ZipFile(fileobj)
        infos = archive.infolist()
    except Exception as exc:  # BadZipFile, struct.error, NotImplementedError, OSError …
        raise InvalidFile(zip_error(exc)) from exc
    budget.entries += len(infos)
    if budget.entries > MAX_ARCHIVE_ENTRIES:
        raise InvalidFile(f"archive has more than {MAX_ARCHIVE_ENTRIES} entries",
                          "too_many_entries")
    with archive:
        try:
            table = _strava_csv(archive, budget)
        except Exception as exc:  # a broken CSV must not cost the activity files
            table = _StravaCsv()
            yield _skip(f"{name}!activities.csv", f"unreadable activities.csv: {exc}")
        if newest_first:
            infos = sorted(infos, key=lambda i: _row_date(table.files.get(i.filename.lower()))
                           or datetime.max.replace(tzinfo=UTC), reverse=True)
        for info in infos:
            yield from _member(archive, info, name, table, budget, _depth, newest_first)
        yield from _manual_entries(table, name)


def count_members(path: str) -> int:
    """How many activity members an archive on disk lists (nested zips count as one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for i in archive.infolist() if not i.is_dir() and _kind(i.filename))
    except Exception:  # unreadable: the import reports it as a skip
        return 1


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
            table: _StravaCsv, budget: _Budget, depth: int,
            newest_first: bool) -> Iterator[Member | ParsedFile]:
    member = info.filename
    label = f"{name}!{_printable(member)}"
    kind = _kind(member)
    if info.is_dir() or kind is None:
        return  # photos, other CSVs, summaries: not activities, not worth a skip line
    unsafe = _unsafe_reason(member)
    if unsafe:
        yield _skip(label, unsafe)
        return
    try:
        data = _read(archive, info, _limit(kind), budget)
        if kind == "zip":
            if depth >= MAX_NESTING:
                raise InvalidFile("archive nested too deeply", "nested_archive")
            yield from iter_members(data, label, newest_first=newest_first, _budget=budget,
                                    _depth=depth + 1)
            return
    except InvalidFile as exc:
        yield _skip(label, str(exc))
        return
    except Exception as exc:  # zipfile raises BadZipFile, RuntimeError (encrypted), zlib.error …
        yield _skip(label, f"unreadable archive member: {exc}")
        return
    row = table.files.get(member.lower())
    yield Member(label, data, row, _row_date(row))


def _row_date(row: dict[str, str] | None) -> datetime | None:
    try:
        moment = datetime.strptime((row or {}).get("Activity Date", ""), _CSV_DATE)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)


def _kind(member: str) -> str | None:
    lower = member.lower()
    if lower.endswith(".zip"):
        return "zip"
    base = lower[:-3] if lower.endswith(".gz") else lower
    return base.rsplit(".", 1)[-1] if base.endswith(_ACTIVITY_SUFFIXES) else None


def _limit(kind: str) -> int:
    return {"fit": MAX_FIT_BYTES, "gpx": MAX_GPX_BYTES}.get(
        kind, MAX_ENTRY_BYTES)


def _unsafe_reason(member: str) -> str | None:
    path = PurePosixPath(member.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return "unsafe path in archive (absolute or '..')"
    return None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:300]


def _skip(label: str, reason: str) -> ParsedFile:
    return ParsedFile(file=label, skipped=[Skip(file=label, reason=reason)])


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, budget: _Budget) -> bytes:
    """Inflate one member through our own counter: size, ratio and archive-total caps."""
    if info.file_size > limit:
        raise InvalidFile(f"member larger than {limit // 2**20} MiB", "too_large")
    if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise InvalidFile("member compression ratio too high (zip bomb?)", "zip_bomb")
    remaining = MAX_ARCHIVE_TOTAL_BYTES - budget.inflated
    cap = min(limit, MAX_COMPRESSION_RATIO * max(info.compress_size, 1), remaining)
    chunks, total = [], 0
    with archive.open(info) as handle:
        while chunk := handle.read(min(_CHUNK, cap + 1 - total)):
            total += len(chunk)
            if total > cap:
                budget.inflated += total
                raise InvalidFile(_cap_reason(cap, limit, remaining), "zip_bomb")
            chunks.append(chunk)
    budget.inflated += total
    data = b"".join(chunks)
    if data[:2] == b"\x1f\x8b":  # .fit.gz etc.: the inner layer gets the same caps
        data = gunzip(data, min(limit, MAX_COMPRESSION_RATIO * max(len(data), 1), remaining))
        budget.inflated += len(data)
    return data


def _cap_reason(cap: int, limit: int, remaining: int) -> str:
    if cap == remaining:
        return "archive total size cap reached"
    if cap == limit:
        return f"member larger than {limit // 2**20} MiB"
    return "member compression ratio too high (zip bomb?)"


def _parse(data: bytes, label: str, row: dict[str, str] | None,
           light: bool = False) -> ParsedFile:
    digest = hashlib.sha256(data).hexdigest()
    fmt, tracks = parse_single(data, light=light)
    for track in tracks:
        track.source_file = label
        if row:
            _apply_row(track, row, fmt)
    return ParsedFile(file=label, tracks=tracks, raw_sha256=digest)


def _apply_row(track: Track, row: dict[str, str], fmt: str) -> None:
    """activities.csv knows the name and gear; its sport beats GPX's (often inferred) one."""
    track.name = row.get("Activity Name") or track.name
    track.gear_id = row.get("Activity Gear") or track.gear_id
    sport, sub_sport = strava_sport(row.get("Activity Type"))
    if sport and (fmt != "fit" or track.sport is None):
        track.sport, track.sub_sport = sport, sub_sport or track.sub_sport


def _strava_csv(archive: zipfile.ZipFile, budget: _Budget) -> _StravaCsv:
    """activities.csv rows keyed by lower-case Filename, plus the rows without a file."""
    table = _StravaCsv()
    try:
        info = archive.getinfo("activities.csv")
    except KeyError:
        return table
    text = _read(archive, info, MAX_ENTRY_BYTES, budget).decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    for number, values in enumerate(reader, start=2):
        row = _row(header, values)
        key = row.get("Filename", "").strip().lower()
        if key:
            table.files[key] = row
        else:
            row["_line"] = str(number)
            table.manual.append(row)
    return table


def _row(header: list[str], values: list[str]) -> dict[str, str]:
    row: dict[str, str] = {}
    for key, value in zip(header, values, strict=False):
        if key == "Distance" and "Distance" in row:
            row["Distance (m)"] = value  # the second Distance column is in metres
        row.setdefault(key, value)
    return row


def _manual_entries(table: _StravaCsv, name: str) -> Iterator[ParsedFile]:
    """Rows without a file: manual entries whose distance counts but whose terrain cannot."""
    for row in table.manual:
        label = f"{name}!activities.csv:{row['_line']}"
        try:
            start = datetime.strptime(row.get("Activity Date", ""), _CSV_DATE)
            distance = float(row.get("Distance (m)") or "nan")
        except ValueError:
            yield _skip(label, "manual entry without a readable date or distance")
            continue
        sport, sub_sport = strava_sport(row.get("Activity Type"))
        moving = row.get("Moving Time") or row.get("Elapsed Time")
        track = Track(
            start_time=start.replace(tzinfo=UTC), sport=sport, sub_sport=sub_sport, manual=True,
            name=row.get("Activity Name") or None, gear_id=row.get("Activity Gear") or None,
            summary_distance_m=distance if distance == distance else None,
            summary_moving_time_s=_seconds(moving), source_file=label,
        )
        yield ParsedFile(file=label, tracks=[track])


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
