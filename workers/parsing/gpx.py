"""GPX bytes -> Track, with the XML guarded before gpxpy sees it.

Guards (reliability.md §5.4): a DTD or entity declaration is refused outright (no GPS device writes
one; it is how billion-laughs and XXE start); every `xmlns` occurrence must be a short, well-formed
attribute and there may be few of them, because gpxpy scans the text with a regex that is quadratic
in pathological `xmlns` runs; bytes must be UTF-8; the size is capped.

Decisions:
* One file is one activity: all <trk>/<trkseg> are concatenated in file order (GPSBabel splits one
  outing into many tracks). No distance is counted across a segment gap; a gap in time between
  segments is recorded as a pause.
* Altitude is "gps" unless the creator names a device family with a barometer (devices.py). Garmin
  Connect and Strava exports don't name the device, so their altitude counts as GPS: the safe side.
* Sport comes from <type> ("running", "Running", Strava's numeric "9", …). Without a <type> it is
  inferred from pace together with cadence and heart rate (`infer_sport`: a 10:30 min/km jog with
  running cadence is running) because most GPX writers (Strava, Runkeeper, phone apps, Movescount)
  omit it; with no usable times the sport stays None.
* A file without any timestamped track point is a route, not a recorded activity: refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import gpxpy
import gpxpy.gpx
import numpy as np

from workers.parsing.devices import is_barometric
from workers.parsing.plain_words import gpx_error
from workers.parsing.track import InvalidFile, Track, is_race

MAX_GPX_BYTES = 10 * 1024 * 1024
MAX_XMLNS = 50
EARTH_RADIUS_M = 6_371_008.8
WALK_MAX_MPS = 1.7
RUN_SURE_MPS = 2.2  # 7:35 min/km: nobody walks a whole activity this fast
JOG_MIN_MPS = 1.3  # 12:50 min/km: slower than this is walking whatever the cadence
RUN_MIN_HR = 125.0
CYCLE_MIN_MPS = 6.5
MAX_SPEED_MPS = 100.0
STEP_SPORTS = frozenset({"running", "walking", "hiking"})

# Plain substring checks (a regex would scan the whole file); "cad" also finds <cadence>.
_EXT_HINTS = (b"hr>", b"cad", b"eartrate>")
_FORBIDDEN = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_XMLNS_ATTR = re.compile(rb'\sxmlns(?::[A-Za-z_][\w.\-]{0,63})?\s*=\s*"[^"<>]{0,2048}"')
# Strava's GPX <type> is its legacy numeric activity type.
_TYPE_ALIASES = {
    "run": "running", "running": "running", "9": "running", "trail_running": "running",
    "trailrun": "running", "treadmill_running": "running",
    "walk": "walking", "walking": "walking", "10": "walking",
    "hike": "hiking", "hiking": "hiking", "4": "hiking",
    "ride": "cycling", "cycling": "cycling", "biking": "cycling", "road_biking": "cycling",
    "mountain_biking": "cycling", "1": "cycling",
}
_SUB_SPORTS = {"trail_running": "trail", "trailrun": "trail", "treadmill_running": "treadmill"}


def check_xml(data: bytes, limit: int = MAX_GPX_BYTES) -> str:
    """Refuse hostile or oversized XML; return the text to hand to an XML library."""
    if len(data) > limit:
        raise InvalidFile(f"GPX file larger than {limit // 2**20} MiB", "too_large")
    if _has_declaration(data):
        raise InvalidFile("GPX with a DTD or entity declarations is refused", "xml_dtd")
    if not _namespaces_ok(data):
        raise InvalidFile("GPX with too many or malformed xmlns attributes", "xml_namespaces")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidFile("GPX is not valid UTF-8") from exc


def _has_declaration(data: bytes) -> bool:
    """Any `<!DOCTYPE`/`<!ENTITY`/`<!ELEMENT`/`<!ATTLIST`. One pass for "<!" (rare in GPX: only
    comments and CDATA use it), then a look at each hit, instead of a scan per keyword."""
    pos = data.find(b"<!")
    while pos != -1:
        if _FORBIDDEN.match(data, pos):
            return True
        pos = data.find(b"<!", pos + 2)
    return False


def _namespaces_ok(data: bytes) -> bool:
    """Few xmlns, each a short well-formed attribute: keeps gpxpy's namespace regex linear."""
    seen = 0
    pos = data.find(b"xmlns")
    while pos != -1:
        seen += 1
        if seen > MAX_XMLNS or pos == 0 or not _XMLNS_ATTR.match(data, pos - 1):
            return False
        pos = data.find(b"xmlns", pos + 5)
    return True


def parse_gpx(data: bytes) -> Track:
    """Parse a GPX activity. Raises InvalidFile for anything we cannot or will not read."""
    text = check_xml(data)
    try:
        gpx = gpxpy.parse(text)
    except Exception as exc:  # gpxpy wraps XML errors, but lets ValueError/TypeError through
        raise InvalidFile(gpx_error(exc)) from exc
    try:
        return _track(gpx, any(hint in data for hint in _EXT_HINTS))
    except InvalidFile:
        raise
    except Exception as exc:  # a value gpxpy accepted but we cannot use
        raise InvalidFile(gpx_error(exc)) from exc


def _track(gpx: gpxpy.gpx.GPX, with_extensions: bool = True) -> Track:
    cols, pauses = _points(gpx, with_extensions)
    times = cols["timestamps"]
    if not np.isfinite(times).any():
        raise InvalidFile("GPX has no timestamped track points (a route, not an activity)",
                          "no_track")
    speed = _speed(cols["distance"], times)
    sport, sub_sport = _sport(gpx, speed, cols["cadence"], cols["heart_rate"])
    if sport in STEP_SPORTS:
        cols["cadence"] = cols["cadence"] * 2.0  # Garmin/Strava GPX `cad` counts one foot
    has_alt = bool(np.isfinite(cols["altitude"]).any())
    creator = (gpx.creator or "").strip() or None
    return Track(
        format="gpx",
        start_time=datetime.fromtimestamp(float(np.nanmin(times)), tz=UTC),
        sport=sport, sub_sport=sub_sport, device=creator, speed=speed,
        altitude_source=("barometric" if is_barometric(creator) else "gps") if has_alt else "none",
        pauses=pauses, name=_name(gpx), race=is_race(_name(gpx)), timestamps=times,
        distance=cols["distance"], lat=cols["lat"], lon=cols["lon"], altitude=cols["altitude"],
        cadence=cols["cadence"], heart_rate=cols["heart_rate"],
    )


def _points(gpx: gpxpy.gpx.GPX, with_extensions: bool
            ) -> tuple[dict[str, np.ndarray], list[tuple[float, float]]]:
    points: list[gpxpy.gpx.GPXTrackPoint] = []
    seg_starts: list[int] = []
    for track in gpx.tracks:
        for segment in track.segments:
            if segment.points:
                seg_starts.append(len(points))
                points.extend(segment.points)
    if not points:
        raise InvalidFile("GPX has no track points", "no_track")
    # One comprehension per column: far cheaper than a Python call per point.
    cols = {
        "timestamps": _timestamps([p.time for p in points]),
        "lat": np.array([p.latitude for p in points], dtype=float),
        "lon": np.array([p.longitude for p in points], dtype=float),
        "altitude": np.array([p.elevation for p in points], dtype=float),  # None -> NaN
    }
    cols["heart_rate"], cols["cadence"] = _extensions(points, with_extensions)
    cols["distance"] = _distance(cols["lat"], cols["lon"], seg_starts)
    return cols, _gaps(cols["timestamps"], seg_starts)


def _timestamps(times: list[datetime | None]) -> np.ndarray:
    if all(t is not None and t.tzinfo is not None for t in times):  # the usual case: fast path
        return np.array([t.timestamp() for t in times], dtype=float)  # type: ignore[union-attr]
    # Naive times are UTC by the GPX spec, so mixing naive and aware points is harmless.
    return np.array([np.nan if t is None else (t if t.tzinfo else t.replace(tzinfo=UTC))
                     .timestamp() for t in times], dtype=float)


def _extensions(points: list[gpxpy.gpx.GPXTrackPoint], present: bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """Heart rate and cadence from any extension schema (Garmin TrackPointExtension, cluetrust
    gpxdata, bare <cadence>): matched by local tag name."""
    if not present:  # the caller saw no such tags in the bytes: skip walking every element
        empty = np.full(len(points), np.nan)
        return empty, empty.copy()
    hr: list[float] = [np.nan] * len(points)
    cad: list[float] = [np.nan] * len(points)
    kinds = _EXT_KIND
    for index, point in enumerate(points):
        for ext in point.extensions:
            for el in ext.iter():
                kind = kinds.get(el.tag, 0)
                if kind == 0:
                    kind = kinds[el.tag] = _ext_kind(el.tag)
                if kind == "hr":
                    hr[index] = _float(el.text)
                elif kind == "cad":
                    cad[index] = _float(el.text)
    return np.array(hr, dtype=float), np.array(cad, dtype=float)


_EXT_KIND: dict[object, str | int | None] = {}  # extension tag -> "hr" / "cad" / None, memoised


def _ext_kind(tag: object) -> str | None:
    if not isinstance(tag, str):  # comments and processing instructions
        return None
    local = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()
    if local in ("hr", "heartrate"):
        return "hr"
    return "cad" if local in ("cad", "cadence") else None


def _float(text: str | None) -> float:
    try:
        return float(text) if text else np.nan
    except ValueError:
        return np.nan


def _distance(lat: np.ndarray, lon: np.ndarray, seg_starts: list[int]) -> np.ndarray:
    """Cumulative haversine metres; no distance across segment boundaries or missing points."""
    if lat.size < 2:
        return np.zeros(lat.size)
    p1, p2 = np.radians(lat[:-1]), np.radians(lat[1:])
    dlat, dlon = p2 - p1, np.radians(lon[1:] - lon[:-1])
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    step = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    step[np.array(seg_starts[1:], dtype=int) - 1] = 0.0
    return np.concatenate(([0.0], np.cumsum(np.nan_to_num(step))))


def _gaps(times: np.ndarray, seg_starts: list[int]) -> list[tuple[float, float]]:
    pauses = []
    for start in seg_starts[1:]:
        before, after = times[start - 1], times[start]
        if np.isfinite(before) and np.isfinite(after) and after > before:
            pauses.append((float(before), float(after)))
    return pauses


def _speed(distance: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Point speed (m/s) from distance over time; NaN where time does not advance."""
    speed = np.full(distance.size, np.nan)
    if distance.size >= 2:
        dt = np.diff(times)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.diff(distance) / dt
        # Implausible speeds come from broken clocks (sub-second steps), not from runners.
        speed[1:] = np.where((dt > 0) & (v < MAX_SPEED_MPS), v, np.nan)
    return speed


def _sport(gpx: gpxpy.gpx.GPX, speed: np.ndarray, cadence: np.ndarray, heart_rate: np.ndarray
           ) -> tuple[str | None, str | None]:
    declared = next((t.type for t in gpx.tracks if t.type), None)
    if declared:
        key = declared.strip().lower().replace(" ", "_")
        return _TYPE_ALIASES.get(key, key), _SUB_SPORTS.get(key)
    moving = speed[np.isfinite(speed) & (speed > 0.5) & (speed < 40.0)]
    if moving.size < 10:
        return None, None
    return infer_sport(float(np.median(moving)), median_of(cadence), median_of(heart_rate)), None


def median_of(values: np.ndarray) -> float | None:
    ok = values[np.isfinite(values) & (values > 0)]
    return float(np.median(ok)) if ok.size >= 10 else None


def infer_sport(speed_mps: float, cadence: float | None, heart_rate: float | None) -> str:
    """Sport of an untyped file from pace, cadence and heart rate together.

    Pace alone misfiles slow runners: 10:30 min/km (1.59 m/s) is a brisk walk's speed and an easy
    jog's. Cadence separates them (walking about 100-130 steps/min, running 150-190); GPX `cad`
    counts one foot (Garmin, Strava), so 65-100 here means 130-200 steps/min and >= 140 is a
    writer that already counts both feet. Without cadence a running heart rate (>= 125 bpm) at a
    jogging speed decides; without either, pace alone (walking below 1.7 m/s)."""
    if speed_mps > CYCLE_MIN_MPS:
        return "cycling"
    if speed_mps >= RUN_SURE_MPS:
        return "running"
    if cadence is not None and speed_mps >= JOG_MIN_MPS:
        return "running" if 70.0 <= cadence < 105.0 or cadence >= 140.0 else "walking"
    if heart_rate is not None and speed_mps >= JOG_MIN_MPS and heart_rate >= RUN_MIN_HR:
        return "running"
    return "walking" if speed_mps < WALK_MAX_MPS else "running"


def _name(gpx: gpxpy.gpx.GPX) -> str | None:
    name = next((t.name for t in gpx.tracks if t.name), None) or gpx.name
    return name.strip() if name else None
