"""Recognise a single (non-archive) activity file by its content and parse it.

The extension is only a hint: users rename files and exports gzip them, so the bytes decide.
"""

from __future__ import annotations

import json
import zlib

from workers.parsing.fit import MAX_FIT_BYTES, parse_fit
from workers.parsing.gpx import MAX_GPX_BYTES, check_xml, parse_gpx
from workers.parsing.plain_words import clock_problem
from workers.parsing.streams import parse_strava_streams
from workers.parsing.track import InvalidFile, Track

MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_SINGLE_BYTES = max(MAX_FIT_BYTES, MAX_GPX_BYTES, MAX_JSON_BYTES)
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def sniff(data: bytes) -> str:
    """'fit' | 'gzip' | 'zip' | 'gpx' | 'tcx' | 'xml' | 'json' | 'unknown'."""
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    if data[:2] == GZIP_MAGIC:
        return "gzip"
    if data[:4] in ZIP_MAGICS:
        return "zip"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<":
        if b"<gpx" in head:
            return "gpx"
        return "tcx" if b"<TrainingCenterDatabase" in head else "xml"
    return "json" if head[:1] in (b"{", b"[") else "unknown"


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress one gzip layer, refusing output beyond `limit` (gzip bombs) and truncation."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise InvalidFile(f"corrupt gzip data: {exc}") from exc
    if len(out) > limit:
        raise InvalidFile(f"gzip expands beyond {limit // 2**20} MiB", "too_large")
    if not inflater.eof:
        raise InvalidFile("truncated gzip data")
    return out


def parse_single(data: bytes, *, light: bool = False,
                 _gzipped: bool = False) -> tuple[str, list[Track]]:
    """Parse one activity file (FIT, GPX, Strava streams JSON, or one of those gzipped).

    `light`: FIT records are read for time and distance only (see `parse_fit`). A file whose
    clock was never set (1901) is refused here, so upload, import and analyze all skip it alike."""
    kind, tracks = _parse_single(data, light, _gzipped)
    if kind not in ("fit", "gpx"):  # Strava streams without a summary start at 1970 on purpose
        return kind, tracks
    problems = [clock_problem(t.start_time) for t in tracks]
    kept = [t for t, p in zip(tracks, problems, strict=True) if p is None]
    if tracks and not kept:
        raise InvalidFile(next(p for p in problems if p), "no_clock")
    return kind, kept


def _parse_single(data: bytes, light: bool, _gzipped: bool) -> tuple[str, list[Track]]:
    kind = sniff(data)
    if kind == "fit":
        return kind, parse_fit(data, light)
    if kind == "gpx":
        return kind, [parse_gpx(data)]
    if kind == "gzip" and not _gzipped:
        return _parse_single(gunzip(data, MAX_SINGLE_BYTES), light, True)
    if kind == "json":
        return kind, [_parse_json(data)]
    if kind == "tcx":
        raise InvalidFile("TCX files are not supported yet", "unsupported_format")
    if kind == "xml":
        check_xml(data)  # so hostile XML gets the same clear refusal as hostile GPX
        raise InvalidFile("XML file that is not GPX", "unsupported_format")
    if kind == "zip":
        raise InvalidFile("archive inside a compressed file", "unsupported_format")
    raise InvalidFile("not an activity file (FIT, GPX, gzip, zip or Strava streams JSON)",
                      "unsupported_format")


def _parse_json(data: bytes) -> Track:
    """Strava streams, or {"streams": ..., "activity": ...} as one document."""
    if len(data) > MAX_JSON_BYTES:
        raise InvalidFile("JSON file too large", "too_large")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidFile(f"invalid JSON: {exc}") from exc
    if isinstance(doc, dict) and "streams" in doc:
        activity = doc.get("activity")
        summary = activity if isinstance(activity, dict) else None
        return parse_strava_streams(doc["streams"], summary)
    if isinstance(doc, dict | list):
        return parse_strava_streams(doc)
    raise InvalidFile("JSON is not Strava streams")
