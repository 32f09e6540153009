"""Activity and stream data for FakeStrava: real samples from data/strava-api, or synthetic runs.

Synthetic runs are loops around a start point with a deterministic hill profile (seeded), sampled at
1 Hz like a watch in "every second" mode, so parsers and the elevation code see realistic arrays.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta
from typing import Any

from service.infra.corpus import SHARED_DATA

DATA_DIR = SHARED_DATA / "strava-api"  # real API responses (a checkout only)
API_STREAM_TYPES = ("time", "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
                    "cadence", "watts", "temp", "moving", "grade_smooth")
DEFAULT_START = (52.0907, 5.1214)  # somewhere flat enough, any point works
RUN_SPORTS = {"Run", "TrailRun", "VirtualRun"}


def load_sample_streams(name: str) -> dict[str, list[Any]]:
    """A real key_by_type stream sample, e.g. "run_2451375851" -> sportslib__streams_run_….json,
    reduced to the stream types the API documents (the web endpoint adds pace, resting, …)."""
    raw = json.loads((DATA_DIR / f"sportslib__streams_{name}.json").read_text())
    return {k: v for k, v in raw.items() if k in API_STREAM_TYPES}


def load_sample_activity(name: str) -> dict[str, Any]:
    """A real DetailedActivity JSON, e.g. "gostrava__activity_get_run"."""
    return json.loads((DATA_DIR / f"{name}.json").read_text())


def _profile(seed: int, climb_m: float) -> tuple[random.Random, int, float, float]:
    rng = random.Random(seed)
    hills = rng.randint(1, 4)
    return rng, hills, climb_m / (2 * hills), rng.uniform(5.0, 400.0)


def _loop_point(frac: float, radius: float, start: tuple[float, float]) -> list[float]:
    angle = 2 * math.pi * frac
    lat = start[0] + radius * math.sin(angle) / 111_320
    lon = start[1] + radius * (1 - math.cos(angle)) / (111_320 * math.cos(math.radians(start[0])))
    return [round(lat, 6), round(lon, 6)]


def synthetic_streams(distance_m: float, seed: int, *, gps: bool = True, climb_m: float = 60.0,
                      speed_ms: float = 3.0, start: tuple[float, float] = DEFAULT_START
                      ) -> dict[str, list[Any]]:
    """1 Hz streams of a loop run of `distance_m` with hills of total climb `climb_m` (as much
    descent); no latlng when `gps` is False (treadmill)."""
    rng, hills, amp, base_alt = _profile(seed, climb_m)
    n = max(2, int(distance_m / speed_ms) + 1)
    radius = distance_m / (2 * math.pi)
    keys = ("time", "distance", "altitude", "velocity_smooth", "heartrate", "cadence", "moving",
            "grade_smooth") + (("latlng",) if gps else ())
    s: dict[str, list[Any]] = {k: [] for k in keys}
    prev_alt = base_alt
    for i in range(n):
        d = min(distance_m, i * speed_ms)
        frac = d / distance_m
        alt = base_alt + amp * (1 - math.cos(2 * math.pi * hills * frac))
        s["time"].append(i)
        s["distance"].append(round(d, 1))
        s["altitude"].append(round(alt, 1))
        s["velocity_smooth"].append(round(speed_ms + rng.uniform(-0.2, 0.2), 2))
        s["heartrate"].append(140 + int(10 * math.sin(frac * 6)) + rng.randint(-2, 2))
        s["cadence"].append(85 + rng.randint(-2, 2))  # Strava run cadence is per foot
        s["moving"].append(True)
        s["grade_smooth"].append(round(100 * (alt - prev_alt) / speed_ms, 1) if i else 0.0)
        prev_alt = alt
        if gps:
            s["latlng"].append(_loop_point(frac, radius, start))
    return s


def synthetic_summary(distance_m: float, seed: int, *, gps: bool = True, climb_m: float = 60.0,
                      speed_ms: float = 3.0, start: tuple[float, float] = DEFAULT_START
                      ) -> dict[str, Any]:
    """The summary fields of `synthetic_streams(...)` with the same arguments, computed without
    building the streams (a year of runs must be cheap to create)."""
    _, _, amp, base_alt = _profile(seed, climb_m)
    n = max(2, int(distance_m / speed_ms) + 1)
    radius = distance_m / (2 * math.pi)
    out: dict[str, Any] = {
        "distance": float(distance_m), "moving_time": n - 1, "elapsed_time": n - 1,
        "total_elevation_gain": round(climb_m, 1), "elev_low": round(base_alt, 1),
        "elev_high": round(base_alt + 2 * amp, 1), "average_speed": speed_ms,
        "max_speed": round(speed_ms + 0.2, 2)}
    if gps:
        ring = [_loop_point(i / 60, radius, start) for i in range(61)]
        out.update(start_latlng=ring[0], end_latlng=ring[-1],
                   summary_polyline=encode_polyline(ring))
    return out


def encode_polyline(points: list[list[float]]) -> str:
    """Google encoded polyline (precision 5), as in Strava's `map.summary_polyline`."""
    out, plat, plon = [], 0, 0
    for lat, lon in points:
        ilat, ilon = round(lat * 1e5), round(lon * 1e5)
        for delta in (ilat - plat, ilon - plon):
            v = ~(delta << 1) if delta < 0 else delta << 1
            while v >= 0x20:
                out.append(chr((0x20 | (v & 0x1F)) + 63))
                v >>= 5
            out.append(chr(v + 63))
        plat, plon = ilat, ilon
    return "".join(out)


def summary_from_streams(streams: dict[str, list[Any]] | None) -> dict[str, Any]:
    """The summary fields Strava derives from the streams: distance, times, gain, start/end."""
    if not streams or not streams.get("time"):
        return {}
    alt = streams.get("altitude") or []
    gain = sum(max(0.0, b - a) for a, b in zip(alt, alt[1:], strict=False))
    dist = [d for d in streams.get("distance") or [] if d is not None]
    out: dict[str, Any] = {"moving_time": int(streams["time"][-1]),
                           "elapsed_time": int(streams["time"][-1]),
                           "total_elevation_gain": round(gain, 1)}
    if dist:
        out["distance"] = float(dist[-1])
    if alt:
        out["elev_high"], out["elev_low"] = max(alt), min(alt)
    ll = [p for p in streams.get("latlng") or [] if p]
    if ll:
        out["start_latlng"], out["end_latlng"] = ll[0], ll[-1]
        out["summary_polyline"] = encode_polyline(ll[:: max(1, len(ll) // 100)])
    return out


def year_of_runs(end: datetime, runs: int = 300, seed: int = 0) -> list[dict[str, Any]]:
    """Plan `runs` runs evenly over the 365 days before `end` (oldest first): start, distance and
    kind. Every 10th run is a treadmill run, every 25th a manual entry, a few trail runs."""
    rng = random.Random(seed)
    step = timedelta(days=365) / runs
    plan = []
    for i in range(runs):
        start = end - timedelta(days=365) + step * i + timedelta(minutes=rng.randint(0, 120))
        kind = "manual" if i % 25 == 24 else "treadmill" if i % 10 == 9 else "gps"
        sport = "TrailRun" if kind == "gps" and i % 7 == 3 else "Run"
        plan.append({"start": start, "distance_m": float(rng.randint(4000, 16000)), "kind": kind,
                     "sport_type": sport, "seed": seed * 100_000 + i})
    return plan
