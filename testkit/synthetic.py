"""Synthetic runs and histories with known answers (shared by the tests and the benches): metrics-only
histories (`run`, `daily`), tracks through given points (`make_track`, `oval`, `polyline`), and plain
out-and-back runs as real Tracks (`run_track`) for history-shaped tests of the service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from workers.analysis.history import HistoryItem
from workers.analysis.metrics import ActivityMetrics, DynamicsMetrics, ElevationMetrics, RouteMetrics
from workers.parsing.track import SessionTotals, Track

START = date(2025, 1, 6)  # a Monday
LAT0, LON0 = 48.0, 11.0
M_PER_DEG = 111_320.0


def when(day: int, hour: int = 7) -> datetime:
    return datetime.combine(START + timedelta(days=day), datetime.min.time(), UTC).replace(hour=hour)


def run(day: int, km: float, *, ident: str | None = None, source: str = "upload", loss: float = 0.0,
        steep10: float = 0.0, altitude: str = "barometric", hour: int = 7, **fields) -> HistoryItem:
    """One running activity's metrics on day `day` after START."""
    elevation = ElevationMetrics(loss_m=loss, gain_m=loss, km_grade_le_minus10=steep10,
                                 altitude_source=altitude if altitude else "none",
                                 confidence="high" if altitude == "barometric" else "low")
    metrics = ActivityMetrics(start_time=when(day, hour), distance_m=km * 1000.0,
                              moving_time_s=km * 330.0, elevation=elevation,
                              route=fields.pop("route", RouteMetrics()),
                              dynamics=fields.pop("dynamics", DynamicsMetrics()), **fields)
    return HistoryItem(ident or f"d{day}h{hour}", source, metrics)


def daily(days: range, km: float, **kw) -> list[HistoryItem]:
    return [run(d, km, **kw) for d in days]


def xy_to_latlon(x: np.ndarray, y: np.ndarray, lat0: float = LAT0, lon0: float = LON0):
    lat = lat0 + y / M_PER_DEG
    lon = lon0 + x / (M_PER_DEG * np.cos(np.radians(lat0)))
    return lat, lon


def oval(laps: float, ccw: bool = True, step: float = 4.0, noise: float = 0.0, seed: int = 0):
    """Points along a 400 m lane-1 oval (straights 84.39 m, radius 36.8 m), `step` metres apart."""
    straight, radius = 84.39, 36.8
    s = np.arange(0.0, laps * 400.0, step) % 400.0
    x, y = np.empty_like(s), np.empty_like(s)
    bend = np.pi * radius
    for lo, hi, fx, fy in (
        (0, straight, lambda u: u, lambda u: 0 * u - radius),
        (straight, straight + bend,
         lambda u: straight + radius * np.sin(u / radius), lambda u: -radius * np.cos(u / radius)),
        (straight + bend, 2 * straight + bend,
         lambda u: straight - u, lambda u: radius + 0 * u),
        (2 * straight + bend, 400.0,
         lambda u: -radius * np.sin(u / radius), lambda u: radius * np.cos(u / radius)),
    ):
        sel = (s >= lo) & (s < hi)
        x[sel], y[sel] = fx(s[sel] - lo), fy(s[sel] - lo)
    if not ccw:
        x = -x
    return x + gps_noise(x.size, noise, seed), y + gps_noise(y.size, noise, seed + 1)


def gps_noise(n: int, sigma: float, seed: int, every: int = 10) -> np.ndarray:
    """Slowly wandering position error (what a watch's filtered GPS looks like), plus jitter."""
    rng = np.random.default_rng(seed)
    knots = rng.normal(0, sigma, n // every + 2)
    slow = np.interp(np.arange(n) / every, np.arange(knots.size), knots)
    return slow + rng.normal(0, sigma / 4, n)


def polyline(points: list[tuple[float, float]], step: float = 5.0):
    """Points every `step` metres along straight legs between the given (x, y) corners."""
    xs, ys = [], []
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:], strict=True):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) / step))
        t = np.arange(n) / n
        xs.append(x0 + (x1 - x0) * t)
        ys.append(y0 + (y1 - y0) * t)
    xs.append(np.array([points[-1][0]]))
    ys.append(np.array([points[-1][1]]))
    return np.concatenate(xs), np.concatenate(ys)


def make_track(x: np.ndarray, y: np.ndarray, *, altitude: np.ndarray | None = None,
               source: str = "barometric", speed: float = 3.0, day: int = 0,
               sub_sport: str | None = None, **fields) -> Track:
    """A Track running through the given local points at constant speed, one record per point."""
    step = np.hypot(np.diff(x), np.diff(y))
    distance = np.concatenate(([0.0], np.cumsum(step)))
    times = when(day).timestamp() + distance / speed
    lat, lon = xy_to_latlon(x, y)
    n = x.size
    return Track(
        start_time=when(day), sport="running", sub_sport=sub_sport, timestamps=times,
        distance=distance, lat=lat, lon=lon,
        altitude=np.full(n, np.nan) if altitude is None else altitude,
        altitude_source="none" if altitude is None else source,
        speed=np.full(n, speed), cadence=fields.pop("cadence", np.full(n, 170.0)),
        stance_time_balance=fields.pop("balance", np.empty(0)),
        totals=fields.pop("totals", SessionTotals(distance_m=float(distance[-1]))), **fields)


PACE_S_PER_KM = 330.0


def run_track(start: datetime, km: float, *, lat0: float = 46.05, lon0: float = 14.5) -> Track:
    """A flat out-and-back run at a steady pace, as a real Track."""
    n = max(int(km * 200), 10)  # one record every 5 m
    distance = np.linspace(0.0, km * 1000.0, n)
    half = km * 500.0
    along = np.where(distance <= half, distance, 2 * half - distance)  # out and back
    lat = lat0 + along / 111_320.0
    lon = np.full(n, lon0)
    t0 = start.timestamp()
    return Track(
        start_time=start, sport="running", device="synthetic",
        timestamps=t0 + distance / 1000.0 * PACE_S_PER_KM, distance=distance, lat=lat, lon=lon,
        altitude=np.full(n, 300.0), altitude_source="barometric",
        speed=np.full(n, 1000.0 / PACE_S_PER_KM), cadence=np.full(n, 170.0),
        totals=SessionTotals(distance_m=km * 1000.0, ascent_m=0.0, descent_m=0.0,
                             elapsed_s=km * PACE_S_PER_KM, timer_s=km * PACE_S_PER_KM),
    )
