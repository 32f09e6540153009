"""Render one planned run on a Route into Strava streams (key_by_type form) + a DetailedActivity.

Physics, kept simple but honest: pace follows grade (slower uphill, faster on gentle downhill,
braking on steep downhill, hiking on steep trail climbs), easy starts and finishes, slow pace drift,
waits at street junctions (the watch keeps recording: samples continue with `moving` false), GPS
noise that is correlated over ~10 s, and altitude noise that depends on the source: a barometric
watch drifts slowly by a metre or two; Strava's corrected elevation for a GPS-only watch wobbles by
a couple of metres around the ground.

Shapes follow Strava's published API v3 description (swagger, as kept in
../shared/data/strava-api/strava_swagger.json): `GET /activities/{id}` returns "The activity's
detailed representation" (DetailedActivity; its example has `"timezone": "(GMT-08:00)
America/Los_Angeles"`, `"utc_offset": -28800`, `"start_date_local"` written with a "Z",
`"external_id": "garmin_push_…"`, `"device_name": "Garmin Edge 1030"`); `GET /activities/{id}/streams`
takes `key_by_type` ("Must be true.") and returns "The set of requested streams" (StreamSet), each
stream with `data`, `series_type`, `original_size` and `resolution`. Run workout types as Strava's
run editor offers them: 0 default, 1 race, 2 long run, 3 workout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from testkit.histories_b_geo import Route, to_latlon

GRID_M = 5.0


@dataclass(frozen=True)
class Device:
    name: str
    barometric: bool
    smart_recording: bool  # True: a sample every 1-5 s; False: every second
    gps_sd: float = 3.0


@dataclass(frozen=True)
class Spec:
    km: float
    speed: float  # the runner's easy pace today, m/s on the flat
    kind: str = "easy"  # easy | long | workout | race | track | recovery
    direction: int = 1  # +1 the route as drawn, -1 reversed (laps of a loop only)
    pause_per_km: float = 0.4


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or values.size < width:
        return values
    pad = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(pad, np.ones(width) / width, mode="valid")


def _corr_noise(rng: np.random.Generator, n: int, sd: float, tau: float) -> np.ndarray:
    """Unit-variance noise correlated over ~tau samples, scaled to sd."""
    k = np.exp(-np.arange(int(4 * tau) + 1) / tau)
    raw = np.convolve(rng.normal(0.0, 1.0, n + k.size), k, mode="full")[k.size:k.size + n]
    return raw * (sd / math.sqrt(float((k * k).sum())))


def route_position(route: Route, s_run: np.ndarray, total: float, direction: int) -> np.ndarray:
    """Where on the route (arc length) the runner is after s_run metres."""
    if route.closed:
        lap = route.length
        pos = np.mod(s_run, lap)
        return pos if direction >= 0 else np.mod(lap - pos, lap)
    half = min(total / 2.0, route.length)
    phase = np.mod(s_run, 2 * half)  # out and back (repeated if the route is short)
    return np.where(phase <= half, phase, 2 * half - phase)


def grade_factor(grade: np.ndarray, trail: bool) -> np.ndarray:
    up = np.clip(grade, 0.0, None)
    down = np.clip(-grade, 0.0, None)
    # Road: ~25% slower at 8%. Trail climbs cost more and turn into hiking (~40% of flat at 20%).
    f_up = 1.0 / (1.0 + 5.0 * up + 10.0 * up * up) if trail else 1.0 / (1.0 + 3.3 * up)
    f_down = np.where(down <= 0.08, 1.0 + 1.6 * down, 1.128 - 1.8 * (down - 0.08))
    return np.clip(np.where(grade >= 0, f_up, f_down), 0.35, 1.25)


def _shape(sg: np.ndarray, spec: Spec, rng: np.random.Generator) -> np.ndarray:
    """Intent along the run: warm-up, cool-down, reps, race effort, late fatigue."""
    total = sg[-1]
    f = np.ones_like(sg)
    warm = 2000.0 if spec.kind in ("workout", "track") else 1200.0
    f *= np.clip(0.86 + 0.14 * sg / warm, None, 1.0)
    f *= np.where(sg > total - 800.0, 0.94, 1.0)
    if spec.kind == "long":
        f *= 1.0 - 0.05 * sg / total
    if spec.kind == "race":
        f = np.full_like(sg, 1.16 if total < 25_000 else 1.07) * (1.0 - 0.03 * sg / total)
    if spec.kind in ("workout", "track") and total > 5000:
        rep = float(rng.choice([400.0, 800.0, 1000.0]))
        mid = (sg > warm) & (sg < total - 1500.0)
        on = np.mod(sg - warm, rep * 1.5) < rep
        f = np.where(mid, np.where(on, 1.32, 0.72), f)
    return f


def _pauses(route: Route, pos: np.ndarray, spec: Spec, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """(grid index, seconds) of stops: junction waits on roads, rare drink stops on trails."""
    if route.surface == "track" or pos.size < 3:
        return np.empty(0, int), np.empty(0)
    if route.surface == "road" and route.junctions.size:
        j = np.searchsorted(route.junctions, pos)
        near = np.minimum(np.abs(pos - route.junctions[np.clip(j - 1, 0, None)]),
                          np.abs(route.junctions[np.clip(j, None, route.junctions.size - 1)] - pos))
        at = np.flatnonzero((near < GRID_M * 0.6) & (np.arange(pos.size) > 100))
        p = min(1.0, spec.pause_per_km * pos.size * GRID_M / 1000.0 / max(at.size, 1))
        idx = at[rng.random(at.size) < p]
        return idx, rng.uniform(4.0, 40.0, idx.size).round()
    idx = np.flatnonzero(rng.random(pos.size) < 0.08 * GRID_M / 1000.0)
    return idx, rng.uniform(20.0, 90.0, idx.size).round()


def _sample_times(total: float, smart: bool, rng: np.random.Generator) -> np.ndarray:
    if not smart:
        t = np.arange(0.0, total, 1.0)
    else:
        steps = rng.choice([1, 2, 3, 4, 5], size=int(total) + 2, p=[0.2, 0.25, 0.25, 0.2, 0.1])
        t = np.concatenate([[0.0], np.cumsum(steps)])
        t = t[t < total]
    return np.append(t, math.ceil(total))


@dataclass
class Motion:
    t: np.ndarray
    s: np.ndarray
    moving: np.ndarray


def _motion(route: Route, spec: Spec, device: Device, rng: np.random.Generator) -> Motion:
    total = spec.km * 1000.0
    sg = np.append(np.arange(0.0, total, GRID_M), total)
    pos = route_position(route, sg, total, spec.direction)
    z = _smooth(np.interp(pos, route.s, route.z), 7)
    grade = np.gradient(z, sg)
    v = spec.speed * grade_factor(grade, route.surface == "trail") * _shape(sg, spec, rng)
    v *= np.exp(_corr_noise(rng, sg.size, 0.035, 60.0))
    if route.surface == "trail":
        v = np.maximum(v * 0.9, 0.95)  # technical ground; power-hiking floor on steep climbs
    tau = np.concatenate([[0.0], np.cumsum(np.diff(sg) / (0.5 * (v[1:] + v[:-1])))])
    idx, dur = _pauses(route, pos, spec, rng)
    p_start = tau[idx] + np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    t = _sample_times(tau[-1] + dur.sum(), device.smart_recording, rng)
    waited = np.clip(t[:, None] - p_start[None, :], 0.0, dur[None, :]).sum(axis=1)
    in_pause = ((t[:, None] >= p_start) & (t[:, None] < p_start + dur)).any(axis=1)
    return Motion(t, np.interp(t - waited, tau, sg), ~in_pause)


def _altitude(z: np.ndarray, device: Device, rng: np.random.Generator, indoor: bool) -> np.ndarray:
    n = z.size
    if device.barometric:  # slow pressure drift + sensor jitter
        drift = np.cumsum(rng.normal(0.0, 0.04, n))
        return z + drift - drift.mean() * 0.5 + rng.normal(0.0, 0.15, n) + rng.normal(0.0, 3.0)
    if indoor:
        return z + _corr_noise(rng, n, 1.0, 15.0)
    return z + _corr_noise(rng, n, 1.0, 20.0) + rng.normal(0.0, 0.1, n)


def elevation_gain(alt: np.ndarray, threshold: float = 2.0) -> tuple[float, float]:
    """Ascent and descent with a hysteresis band (what a watch or Strava reports, roughly)."""
    gain = loss = 0.0
    ref = float(alt[0])
    for a in _smooth(alt, 5)[::3]:
        if a - ref >= threshold:
            gain, ref = gain + a - ref, a
        elif ref - a >= threshold:
            loss, ref = loss + ref - a, a
    return float(gain), float(loss)


@dataclass
class Recorded:
    """What the watch wrote, sample by sample, before it becomes JSON."""

    m: Motion
    lat: np.ndarray
    lon: np.ndarray
    dist: np.ndarray
    alt: np.ndarray
    vel: np.ndarray
    grade: np.ndarray
    cad: np.ndarray


def _record(route: Route, spec: Spec, device: Device, rng: np.random.Generator) -> Recorded:
    m = _motion(route, spec, device, rng)
    n = m.t.size
    pos = route_position(route, m.s, spec.km * 1000.0, spec.direction)
    x, y, z = (np.interp(pos, route.s, a) for a in (route.x, route.y, route.z))
    gps = (0.4 if route.surface == "track" else device.gps_sd * (1.5 if route.surface == "trail" else 1))
    lat, lon = to_latlon(route.lat0, route.lon0, x + _corr_noise(rng, n, gps, 8.0),
                         y + _corr_noise(rng, n, gps, 8.0))
    dist = np.maximum.accumulate(m.s * (1.0 + rng.normal(0.0, 0.006)) + _corr_noise(rng, n, 1.0, 5.0))
    dist = np.clip(dist - dist[0], 0.0, None)
    alt = _altitude(z, device, rng, route.surface == "track" and route.length < 300)
    vel = np.where(m.moving, np.clip(_smooth(np.gradient(dist) / np.gradient(m.t), 5), 0.0, None), 0.0)
    grade = _smooth(np.gradient(_smooth(alt, 9)) / np.maximum(np.gradient(dist), 0.5), 9) * 100.0
    grade = np.clip(np.where(m.moving, grade, 0.0), -45.0, 45.0)
    cad = np.where(m.moving, 80.0 + 4.0 * (vel - 3.0) + rng.normal(0.0, 1.5, n), 0.0)
    return Recorded(m, lat, lon, dist, alt, vel, grade, np.clip(cad, 0.0, None))


def _streams(r: Recorded) -> dict:
    streams = {
        "time": {"data": r.m.t.astype(int).tolist()},
        "latlng": {"data": np.column_stack([r.lat, r.lon]).round(6).tolist()},
        "distance": {"data": r.dist.round(1).tolist()},
        "altitude": {"data": r.alt.round(1).tolist()},
        "velocity_smooth": {"data": r.vel.round(3).tolist()},
        "grade_smooth": {"data": r.grade.round(1).tolist()},
        "cadence": {"data": r.cad.round().astype(int).tolist()},
        "moving": {"data": r.m.moving.tolist()},
    }
    for stream in streams.values():  # as Strava returns them with key_by_type=true
        stream.update({"series_type": "distance", "original_size": r.m.t.size, "resolution": "high"})
    return streams


def _summary(r: Recorded) -> dict:
    gain, loss = elevation_gain(r.alt)
    moving = r.m.moving
    return {"distance": round(float(r.dist[-1]), 1),
            "moving_time": int(np.diff(r.m.t)[moving[:-1]].sum()), "elapsed_time": int(r.m.t[-1]),
            "total_elevation_gain": round(gain, 1), "descent": round(loss, 1),
            "elev_high": round(float(r.alt.max()), 1), "elev_low": round(float(r.alt.min()), 1),
            "max_speed": round(float(r.vel.max()), 3),
            "start_latlng": [round(float(r.lat[0]), 6), round(float(r.lon[0]), 6)],
            "end_latlng": [round(float(r.lat[-1]), 6), round(float(r.lon[-1]), 6)],
            "average_cadence": round(float(r.cad[moving].mean()), 1) if moving.any() else None}


def render_streams(route: Route, spec: Spec, device: Device, rng: np.random.Generator
                   ) -> tuple[dict, dict]:
    """Streams in key_by_type form and the summary numbers the activity needs."""
    recorded = _record(route, spec, device, rng)
    return _streams(recorded), _summary(recorded)


def strava_timezone(tz: str, when: datetime) -> str:
    off = when.astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"({'GMT'}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}) {tz}"


SUMMARY_FIELDS = ("distance", "moving_time", "elapsed_time", "total_elevation_gain", "elev_high",
                  "elev_low", "max_speed", "average_cadence", "start_latlng", "end_latlng")


def activity_json(activity_id: int, name: str, sport_type: str, local_start: datetime, tz: str,
                  device: Device, summary: dict, workout_type: int) -> dict:
    """A DetailedActivity (resource_state 3) as Strava's API v3 returns it, trimmed to run fields."""
    utc = local_start.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))
    offset = local_start.replace(tzinfo=ZoneInfo(tz)).utcoffset() or timedelta(0)
    garmin = device.name.startswith("Garmin")
    return {
        "resource_state": 3, "id": activity_id,
        "external_id": f"garmin_push_{activity_id}" if garmin else f"{activity_id}.fit",
        "name": name, "type": sport_type if sport_type != "TrailRun" else "Run",
        "sport_type": sport_type, "workout_type": workout_type,
        "start_date": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_date_local": local_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": strava_timezone(tz, utc), "utc_offset": int(offset.total_seconds()),
        **{key: summary[key] for key in SUMMARY_FIELDS},
        "average_speed": round(summary["distance"] / max(summary["moving_time"], 1), 3),
        "trainer": False, "commute": False, "manual": False, "private": False, "flagged": False,
        "device_name": device.name, "has_heartrate": False, "gear_id": None,
        "athlete": {"id": activity_id // 10_000, "resource_state": 1},
    }
