"""Per-activity metrics: the expensive step, computed once per run and stored as JSON.

`compute_metrics(track)` reads one `Track` and returns `ActivityMetrics`, a plain dataclass that
round-trips through `to_dict()` / `from_dict()`; the history rules (`rules.evaluate`) read only these,
so a 10-year history is re-evaluated without touching a single file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from workers.analysis.dynamics import DynamicsResult, compute_dynamics
from workers.analysis.elevation import ElevationResult, elevation_with_grades
from workers.analysis.kneeload import KneeMetrics, profile
from workers.analysis.routes import EARTH_M_PER_DEG, RouteResult, compute_route
from workers.parsing.track import Track

METRICS_VERSION = 1


@dataclass(slots=True)
class ElevationMetrics:
    gain_m: float = 0.0
    loss_m: float = 0.0
    loss_m_per_km: float = 0.0
    km_grade_le_minus5: float = 0.0
    km_grade_le_minus10: float = 0.0
    longest_descent_m: float = 0.0
    longest_descent_km: float = 0.0
    altitude_source: str = "none"  # barometric | gps | none (none also for indoor/manual)
    device_loss_m: float | None = None
    device_gain_m: float | None = None
    engine_loss_m: float | None = None  # our own figure (loss_m may be the device's, see below)
    loss_source: str | None = None  # device | samples: where loss_m came from; None without altitude
    confidence: str | None = None  # high | medium | low; None without altitude


@dataclass(slots=True)
class RouteMetrics:
    has_gps: bool = False
    shape: str = "none"  # loop | out_and_back | point_to_point | track | none
    direction: str | None = None  # cw | ccw | None
    track_laps: int | None = None
    track_km_cw: float = 0.0
    track_km_ccw: float = 0.0
    segment_keys: list[int] = field(default_factory=list)  # directed 100 m grid cells
    segment_m: list[int] = field(default_factory=list)  # metres covered by each key


@dataclass(slots=True)
class DynamicsMetrics:
    cadence_spm: float | None = None
    gct_balance_left_pct: float | None = None
    gct_flat_s: float = 0.0
    cadence_by_speed: list[list[float]] = field(default_factory=list)


@dataclass(slots=True)
class ActivityMetrics:
    start_time: datetime
    sport: str | None = "running"
    sub_sport: str | None = None
    indoor: bool = False
    manual: bool = False
    distance_m: float = 0.0
    moving_time_s: float = 0.0
    elevation: ElevationMetrics = field(default_factory=ElevationMetrics)
    route: RouteMetrics = field(default_factory=RouteMetrics)
    dynamics: DynamicsMetrics = field(default_factory=DynamicsMetrics)
    gear_id: str | None = None
    device: str | None = None
    utc_offset_s: int | None = None  # local time - UTC at the start, when the source said
    race: bool = False  # provider workout type "race" or a race-like name
    knee: KneeMetrics = field(default_factory=KneeMetrics)  # knee-load profile (kneeload.py)

    @property
    def terrain(self) -> bool:
        """Does this run's terrain count (outdoor, recorded, with altitude)?"""
        return not (self.indoor or self.manual) and self.elevation.altitude_source != "none"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start_time"] = iso_utc(self.start_time)
        data["version"] = METRICS_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActivityMetrics:
        data = dict(data)
        data.pop("version", None)
        data.pop("copy", None)  # which copy of the run was stored (service.domain.same_run)
        start = datetime.fromisoformat(str(data.pop("start_time")).replace("Z", "+00:00"))
        return cls(
            start_time=start if start.tzinfo else start.replace(tzinfo=UTC),
            elevation=ElevationMetrics(**data.pop("elevation", {})),
            route=RouteMetrics(**data.pop("route", {})),
            dynamics=DynamicsMetrics(**data.pop("dynamics", {})),
            knee=KneeMetrics(**data.pop("knee", {})),
            **data,
        )


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compute_metrics(track: Track) -> ActivityMetrics:
    terrain = not (track.indoor or track.manual)
    distance = record_distance(track)
    source = track.altitude_source if terrain else "none"
    elevation, grid, grades = (None, None, None)
    if source != "none" and track.altitude.size == distance.size:
        elevation, grid, grades = elevation_with_grades(
            distance, track.altitude, source, track.timestamps, track.resolution
        )
    route = compute_route(track.lat, track.lon, track.sub_sport) if terrain else RouteResult()
    grade_at = np.interp(distance, grid, grades) if grid is not None and grades is not None else None
    dynamics = compute_dynamics(
        track.timestamps, track.speed, track.cadence, track.stance_time_balance, grade_at
    )
    km = track.distance_m / 1000.0
    return ActivityMetrics(
        start_time=track.start_time,
        sport=track.sport,
        sub_sport=track.sub_sport,
        indoor=track.indoor,
        manual=track.manual,
        distance_m=round(track.distance_m, 1),
        moving_time_s=round(track.moving_time_s, 1),
        elevation=elevation_metrics(track, elevation, source, route.shape, km),
        route=route_metrics(route),
        dynamics=dynamics_metrics(dynamics),
        gear_id=track.gear_id,
        device=track.device,
        utc_offset_s=track.utc_offset_s,
        race=track.race,
        knee=profile(track.timestamps, distance, track.speed, track.cadence, grade_at,
                     source) if not track.manual else KneeMetrics(),
    )


def record_distance(track: Track) -> np.ndarray:
    """Cumulative distance per record: the device's stream, else integrated from positions."""
    n = track.timestamps.size or track.distance.size or track.lat.size
    if track.distance.size == n and np.isfinite(track.distance).sum() >= 2:
        return track.distance
    if track.lat.size == n and n >= 2:
        lat = track.lat
        lon = track.lon
        step_x = np.diff(lon) * EARTH_M_PER_DEG * np.cos(np.radians(lat[1:]))
        step = np.nan_to_num(np.hypot(step_x, np.diff(lat) * EARTH_M_PER_DEG))
        return np.concatenate(([0.0], np.cumsum(step)))
    return np.full(n, np.nan)


def elevation_metrics(
    track: Track, result: ElevationResult | None, source: str, shape: str, km: float
) -> ElevationMetrics:
    device_loss = track.totals.descent_m
    device_gain = track.totals.ascent_m
    base = ElevationMetrics(
        altitude_source="none",
        device_loss_m=None if device_loss is None else float(device_loss),
        device_gain_m=None if device_gain is None else float(device_gain),
    )
    if result is None or result.coverage == 0:
        return base
    base.altitude_source = source
    base.gain_m = round(result.gain_m, 1)
    base.engine_loss_m = round(result.loss_m, 1)
    base.loss_m = reported_loss(source, result.loss_m, device_loss)
    from_device = device_loss is not None and base.loss_m == round(float(device_loss), 1) and (
        source == "barometric")
    base.loss_source = "device" if from_device else "samples"
    base.loss_m_per_km = round(result.loss_m / km, 2) if km > 0.1 else 0.0
    base.km_grade_le_minus5 = round(result.km_grade_le_minus5, 2)
    base.km_grade_le_minus10 = round(result.km_grade_le_minus10, 2)
    base.longest_descent_m = round(result.longest_descent_m, 1)
    base.longest_descent_km = round(result.longest_descent_km, 2)
    base.confidence = confidence(source, result, shape)
    return base


def reported_loss(source: str, engine_m: float, device_m: float | None) -> float:
    """The loss the rules use: for a barometric recording the device's own session total when
    it is plausible next to ours (the device sees every sample at full resolution and is what
    the runner's watch shows), else our figure. Both stay in the metrics."""
    if source == "barometric" and device_m is not None and device_m >= 0:
        if abs(device_m - engine_m) <= max(0.25 * max(device_m, engine_m), 15.0):
            return round(float(device_m), 1)
    return round(engine_m, 1)


def confidence(source: str, result: ElevationResult, shape: str) -> str:
    """Barometric is trusted, GPS altitude is not; poor coverage or an unclosed loop lowers it."""
    levels = ["low", "medium", "high"]
    level = 2 if source == "barometric" else 0
    if result.coverage < 0.8:
        level -= 1
    closed = shape in ("loop", "out_and_back", "track")
    mismatch = abs(result.gain_m - result.loss_m)
    if closed and mismatch > max(20.0, 0.1 * max(result.gain_m, result.loss_m)):
        level -= 1  # on a closed route what goes up comes down (science.md §2.3 QA)
    return levels[max(level, 0)]


def route_metrics(route: RouteResult) -> RouteMetrics:
    return RouteMetrics(
        has_gps=route.has_gps,
        shape=route.shape,
        direction=route.direction,
        track_laps=route.track_laps,
        track_km_cw=round(route.track_m_cw / 1000.0, 3),
        track_km_ccw=round(route.track_m_ccw / 1000.0, 3),
        segment_keys=list(route.segment_keys),
        segment_m=list(route.segment_m),
    )


def dynamics_metrics(result: DynamicsResult) -> DynamicsMetrics:
    return DynamicsMetrics(
        cadence_spm=result.cadence_spm,
        gct_balance_left_pct=result.gct_balance_left_pct,
        gct_flat_s=round(result.gct_flat_s, 1),
        cadence_by_speed=[list(row) for row in result.cadence_by_speed],
    )
