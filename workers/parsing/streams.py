"""Strava activity streams (+ optional activity summary JSON) -> Track.

Named by what it parses, like fit.py and gpx.py: activity streams (per-sample arrays by type).
Strava is the one source of streams today; its integration fetches them, this parses them.

Accepted stream shapes: the API v3 list (`[{"type": "time", "data": [...]}, ...]`), the
`key_by_type=true` dict (`{"time": {"data": [...]}, ...}`) and the web endpoint's plain dict of
arrays (`{"time": [...], ...}`). Missing samples (null) become NaN.

Decisions:
* Running/walking cadence is per foot in Strava ("rotations per minute"), doubled to steps/min.
* Altitude is "strava": Strava replaces the altitude of devices without a barometer with its own
  corrected elevation, so it is its own source, unless `device_name` names a barometric family.
* `trainer` (indoor) runs get sub_sport "treadmill" (other sports "indoor"), VirtualRun/Ride get
  "virtual_activity", TrailRun gets "trail"; `manual` is copied so terrain rules skip the activity.
* Without a summary, times are relative to 1970-01-01 UTC: pass the activity for real dates.
* `resolution` / `original_size` are kept on the Track: a "low" or "medium" stream is a sparse
  profile for the descent estimate (elevation.py), not every recorded sample.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import numpy as np

from workers.parsing.devices import is_barometric
from workers.parsing.track import InvalidFile, SessionTotals, Track, is_race

MAX_STREAM_SAMPLES = 500_000
STEP_SPORTS = frozenset({"running", "walking", "hiking"})
_SPORTS = {
    "run": ("running", None), "trailrun": ("running", "trail"),
    "virtualrun": ("running", "virtual_activity"), "walk": ("walking", None),
    "hike": ("hiking", None), "ride": ("cycling", None),
    "virtualride": ("cycling", "virtual_activity"),
    "ebikeride": ("cycling", "e_bike"), "mountainbikeride": ("cycling", "mountain"),
    "gravelride": ("cycling", "gravel_cycling"), "swim": ("swimming", None),
}


def parse_strava_streams(streams: dict | list, activity: dict | None = None) -> Track:
    """Build a Track from Strava streams and (optionally) the activity's summary JSON."""
    try:
        track = _build(_normalise(streams), activity or {})
        track.resolution, track.original_size = _resolution(streams)
        return track
    except InvalidFile:
        raise
    except Exception as exc:  # malformed JSON shapes: wrong types, ragged arrays, bad dates
        raise InvalidFile(f"invalid Strava streams: {exc}") from exc


def _resolution(streams: dict | list) -> tuple[str | None, int | None]:
    """Strava's `resolution` and `original_size` of the streams (the same on every stream the
    API returns; apis.md "Streams"), when the response says them."""
    found = streams if isinstance(streams, list) else [
        v for v in streams.values() if isinstance(v, dict)] if isinstance(streams, dict) else []
    for s in found:
        if isinstance(s, dict) and s.get("resolution") in ("low", "medium", "high"):
            size = s.get("original_size")
            return s["resolution"], size if isinstance(size, int) and size > 0 else None
    return None, None


def _normalise(streams: dict | list) -> dict[str, list]:
    if isinstance(streams, list):
        pairs = [(s.get("type"), s.get("data")) for s in streams if isinstance(s, dict)]
    elif isinstance(streams, dict):
        pairs = [(k, v.get("data") if isinstance(v, dict) else v) for k, v in streams.items()]
    else:
        raise InvalidFile("Strava streams must be a JSON list or object")
    out = {str(k): v for k, v in pairs if isinstance(v, list)}
    if "time" not in out:
        raise InvalidFile("Strava streams have no time stream", "no_track")
    if any(len(v) > MAX_STREAM_SAMPLES for v in out.values()):
        raise InvalidFile("Strava streams too long", "too_large")
    return out


def _floats(values: list | None, size: int) -> np.ndarray:
    if not values:
        return np.full(size, np.nan)
    if len(values) != size:
        raise InvalidFile("Strava streams have different lengths")
    return np.array([v if isinstance(v, int | float) else np.nan for v in values], dtype=float)


def _latlng(values: list | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    if not values:
        return np.empty(0), np.empty(0)
    pairs = [v if isinstance(v, list | tuple) and len(v) == 2 else (None, None) for v in values]
    lat = _floats([p[0] for p in pairs], size)
    lon = _floats([p[1] for p in pairs], size)
    return lat, lon


def _build(streams: dict[str, list], activity: dict[str, Any]) -> Track:
    size = len(streams["time"])
    start = _start(activity.get("start_date"))
    sport, sub_sport = _sport(activity)
    lat, lon = _latlng(streams.get("latlng"), size)
    cadence = _floats(streams.get("cadence"), size)
    altitude = _floats(streams.get("altitude"), size)
    device = activity.get("device_name") or None
    has_alt = bool(np.isfinite(altitude).any())
    return Track(
        format="streams",
        start_time=start, sport=sport, sub_sport=sub_sport, device=device,
        timestamps=start.timestamp() + _floats(streams["time"], size),
        distance=_floats(streams.get("distance"), size), lat=lat, lon=lon, altitude=altitude,
        # Strava keeps a recognised barometric device's altitude and corrects the others against
        # its own elevation data: that is neither raw GPS altitude nor a barometer.
        altitude_source=("barometric" if is_barometric(device) else "strava") if has_alt else "none",
        speed=_floats(streams.get("velocity_smooth"), size),
        cadence=cadence * 2.0 if sport in STEP_SPORTS else cadence,
        heart_rate=_floats(streams.get("heartrate"), size),
        stance_time_balance=np.full(size, np.nan),
        totals=SessionTotals(
            distance_m=_num(activity.get("distance")),
            ascent_m=_num(activity.get("total_elevation_gain")),
            elapsed_s=_num(activity.get("elapsed_time")),
        ),
        manual=bool(activity.get("manual")), gear_id=activity.get("gear_id") or None,
        name=activity.get("name") or None, utc_offset_s=strava_offset(activity),
        race=is_race(activity.get("name"), activity.get("workout_type")),
        summary_distance_m=_num(activity.get("distance")),
        summary_moving_time_s=_num(activity.get("moving_time")),
    )


def strava_offset(activity: dict[str, Any]) -> int | None:
    """Local minus UTC: `start_date_local` is the local wall-clock time written with a "Z"."""
    local, utc = activity.get("start_date_local"), activity.get("start_date")
    if not local or not utc:
        return None
    try:
        wall = datetime.fromisoformat(str(local).replace("Z", "")).replace(tzinfo=UTC)
        offset = round((wall - _start(utc)).total_seconds() / 900.0) * 900
    except ValueError:
        return None
    return int(offset) if abs(offset) <= 14 * 3600 else None


def _start(value: object) -> datetime:
    if not value:
        return datetime(1970, 1, 1, tzinfo=UTC)
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def strava_sport(kind: object, trainer: bool = False) -> tuple[str | None, str | None]:
    """Strava sport_type/type ('Run', 'TrailRun', 'Trail Run', …) -> (sport, sub_sport)."""
    if not kind:
        return None, None
    key = re.sub(r"[^a-z]", "", str(kind).lower())
    sport, sub_sport = _SPORTS.get(key, (re.sub(r"(?<!^)(?=[A-Z])", "_", str(kind)).lower(), None))
    if trainer and sub_sport is None:
        sub_sport = "treadmill" if sport == "running" else "indoor"
    return sport, sub_sport


def _sport(activity: dict[str, Any]) -> tuple[str | None, str | None]:
    return strava_sport(activity.get("sport_type") or activity.get("type"),
                        bool(activity.get("trainer")))


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
