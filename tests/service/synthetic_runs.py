"""Synthetic runs as real Tracks (a flat out-and-back at a steady pace), for history-shaped tests."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from workers.parsing.track import SessionTotals, Track

PACE_S_PER_KM = 330.0


def run_track(start: datetime, km: float, *, lat0: float = 46.05, lon0: float = 14.5) -> Track:
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
