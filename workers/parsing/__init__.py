"""Activity files in, Tracks out: FIT, GPX, Strava streams JSON, gzip, Strava/Garmin export zips.

Pure code (no Flask, database or network). Every parser exception stops at this boundary as
`InvalidFile`; inside archives and `iter_paths` a bad file becomes a `Skip` instead.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from workers.parsing.archives import (
    MAX_ARCHIVE_ENTRIES,
    MAX_ARCHIVE_TOTAL_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_ENTRY_BYTES,
    iter_archive,
)
from workers.parsing.fit import MAX_FIT_BYTES
from workers.parsing.formats import MAX_JSON_BYTES, MAX_SINGLE_BYTES, ZIP_MAGICS, parse_single
from workers.parsing.gpx import MAX_GPX_BYTES
from workers.parsing.streams import parse_strava_streams
from workers.parsing.track import InvalidFile, Lap, ParsedFile, SessionTotals, Skip, Track

# Largest archive accepted as bytes in memory (an upload); paths are streamed from disk instead.
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
# File names a folder walk picks up; files named explicitly are sniffed whatever their name.
FOLDER_SUFFIXES = (".fit", ".gpx", ".tcx", ".gz", ".zip", ".json")

__all__ = [
    "MAX_ARCHIVE_BYTES", "MAX_ARCHIVE_ENTRIES", "MAX_ARCHIVE_TOTAL_BYTES", "MAX_COMPRESSION_RATIO",
    "MAX_ENTRY_BYTES", "MAX_FIT_BYTES", "MAX_GPX_BYTES", "MAX_JSON_BYTES",
    "InvalidFile", "Lap", "ParsedFile", "SessionTotals", "Skip", "Track",
    "iter_paths", "parse_bytes", "parse_strava_streams",
]


def parse_bytes(data: bytes, filename: str) -> ParsedFile:
    """Parse one input. A single bad file raises InvalidFile; a zip returns its tracks and skips."""
    digest = hashlib.sha256(data).hexdigest()
    if data[:4] in ZIP_MAGICS:
        if len(data) > MAX_ARCHIVE_BYTES:
            raise InvalidFile(f"archive larger than {MAX_ARCHIVE_BYTES // 2**20} MiB", "too_large")
        result = _collect(iter_archive(data, filename), filename)
        result.raw_sha256 = digest
        return result
    if len(data) > MAX_SINGLE_BYTES:
        raise InvalidFile(f"file larger than {MAX_SINGLE_BYTES // 2**20} MiB", "too_large")
    _, tracks = parse_single(data)
    for track in tracks:
        track.source_file = filename
    return ParsedFile(file=filename, tracks=tracks, raw_sha256=digest)


def iter_paths(paths: list[str]) -> Iterator[ParsedFile]:
    """Files, folders (recursively, sorted) and archives; never raises for a bad input.

    Archives yield one ParsedFile per member ("archive.zip!member") so a large export is never
    held in memory as a whole.
    """
    for path in map(Path, paths):
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if _wanted(p)):
                yield from _iter_file(file)
        else:
            yield from _iter_file(path)


def _wanted(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and (
        path.name.lower().endswith(FOLDER_SUFFIXES))


def _iter_file(path: Path) -> Iterator[ParsedFile]:
    name = str(path)
    try:
        with path.open("rb") as handle:
            if handle.read(4) in ZIP_MAGICS:
                handle.seek(0)
                yield from iter_archive(handle, name)  # streamed from disk, never loaded whole
                return
        if os.path.getsize(path) > MAX_SINGLE_BYTES:
            raise InvalidFile(f"file larger than {MAX_SINGLE_BYTES // 2**20} MiB", "too_large")
        yield parse_bytes(path.read_bytes(), name)
    except InvalidFile as exc:
        yield ParsedFile(file=name, skipped=[Skip(file=name, reason=str(exc))])
    except OSError as exc:
        reason = f"cannot read: {exc.strerror or exc}"
        yield ParsedFile(file=name, skipped=[Skip(file=name, reason=reason)])


def _collect(parts: Iterator[ParsedFile], filename: str) -> ParsedFile:
    result = ParsedFile(file=filename)
    for part in parts:
        result.tracks.extend(part.tracks)
        result.skipped.extend(part.skipped)
    return result
