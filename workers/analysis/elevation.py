"""Elevation gain/loss from a noisy altitude stream (science.md §2.3).

Pipeline: drop invalid samples, median-filter spikes, remove implausibly fast jumps, resample by
distance (so standing still adds nothing and sampling rate does not matter), smooth (GPS only:
barometric data matched the devices best unsmoothed, see bench/elevation.py), then count climbs
and descents with a hysteresis ("zig-zag") threshold: an extreme only counts once the altitude has
moved back from it by more than `h`. Runalyze and GoldenCheetah use 3 m for barometric data; GPS
altitude is far noisier and gets a larger threshold and a lower confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_M = 10.0  # resampling step along the distance axis
# A change this large this fast is a sensor artefact (start-up values, pressure spikes), not a
# runner: even steep downhill running stays well below 2 m/s vertical.
JUMP_MIN_M = 15.0
JUMP_MAX_RATE = 4.0  # m/s


@dataclass(frozen=True, slots=True)
class NoiseModel:
    hysteresis_m: float
    smooth_m: float  # moving-average window along distance, before counting
    grade_window_m: float  # grades are taken over this horizontal distance


NOISE = {
    "barometric": NoiseModel(hysteresis_m=3.0, smooth_m=0.0, grade_window_m=100.0),
    # Noisy GPS altitude (phones: 1-1.6 m of jitter at 10 m steps) needs heavy smoothing.
    "gps": NoiseModel(hysteresis_m=15.0, smooth_m=200.0, grade_window_m=200.0),
    # A smooth profile of unknown origin (under 0.8 m of jitter): most often a barometer's altitude
    # that arrived without a device name (a Garmin Connect GPX export, Strava streams without a
    # known barometric `device_name`), else a GPS watch's filtered altitude or elevation data.
    # bench/elevation.py: on every barometric FIT turned into such a copy (derived), 3 m fits the
    # watches best (runs >= 50 m: median 4.3%, worst 10.8%), 4 m nearly as well (4.1%, 15.2%),
    # the earlier 6 m (fitted on real copies that were barometric data parsed as unknown) worst
    # (8.0%, 31%); the noisy model above lost 20-27%. 4 m, not 3: filtered GPS altitude wanders by
    # a few metres, and a flat coastal run (msimms__run_03_garmin.gpx, -3..8 m) reads 64 m at 3 m
    # and 49 m at 4-6 m.
    "smooth": NoiseModel(hysteresis_m=4.0, smooth_m=0.0, grade_window_m=200.0),
}
SMOOTH_MAX_JITTER_M = 0.8


@dataclass(frozen=True, slots=True)
class ElevationResult:
    gain_m: float = 0.0
    loss_m: float = 0.0
    km_grade_le_minus5: float = 0.0
    km_grade_le_minus10: float = 0.0
    longest_descent_m: float = 0.0  # vertical drop of the largest continuous descent
    longest_descent_km: float = 0.0  # its horizontal length
    coverage: float = 0.0  # share of the distance that had altitude


def elevation_profile(
    distance: np.ndarray, altitude: np.ndarray, source: str, timestamps: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(distance grid, smoothed altitude) every STEP_M metres, or None without usable altitude."""
    model = NOISE.get(source, NOISE["gps"])  # source here may also name a model
    ok = np.isfinite(distance) & np.isfinite(altitude)
    if ok.sum() < 3:
        return None
    d = np.maximum.accumulate(distance[ok])
    times = timestamps[ok] if timestamps is not None and timestamps.size == ok.size else None
    alt = remove_jumps(median5(altitude[ok]), times)  # median first: noise is not a jump
    moving = np.concatenate(([True], np.diff(d) > 0))  # one sample per distance value
    d, alt = d[moving], alt[moving]
    if d.size < 2 or d[-1] - d[0] < 2 * STEP_M:
        return None
    grid = np.arange(d[0], d[-1] + 1e-9, STEP_M)
    profile = np.interp(grid, d, alt)
    return grid, moving_average(profile, int(round(model.smooth_m / STEP_M)))


def compute_elevation(
    distance: np.ndarray,
    altitude: np.ndarray,
    source: str,
    timestamps: np.ndarray | None = None,
) -> ElevationResult:
    return elevation_with_grades(distance, altitude, source, timestamps)[0]


def elevation_with_grades(
    distance: np.ndarray,
    altitude: np.ndarray,
    source: str,
    timestamps: np.ndarray | None = None,
) -> tuple[ElevationResult, np.ndarray | None, np.ndarray | None]:
    """The result plus (distance grid, grade at each grid point) for per-record terrain lookups."""
    model_name = noise_model(distance, altitude, source, timestamps)
    profile = elevation_profile(distance, altitude, model_name, timestamps)
    if profile is None:
        return ElevationResult(), None, None
    grid, alt = profile
    model = NOISE[model_name]
    gain, loss, drop, drop_len = hysteresis(alt, model.hysteresis_m)
    grades = grade(alt, int(round(model.grade_window_m / STEP_M / 2)))
    finite = distance[np.isfinite(distance)]
    total = float(finite.max() - finite.min()) if finite.size else 0.0
    result = ElevationResult(
        gain_m=gain,
        loss_m=loss,
        km_grade_le_minus5=float((grades <= -0.05).sum() * STEP_M / 1000.0),
        km_grade_le_minus10=float((grades <= -0.10).sum() * STEP_M / 1000.0),
        longest_descent_m=drop,
        longest_descent_km=drop_len * STEP_M / 1000.0,
        coverage=min(1.0, float(grid[-1] - grid[0]) / total) if total > 0 else 0.0,
    )
    return result, grid, grades


def noise_model(distance: np.ndarray, altitude: np.ndarray, source: str,
                timestamps: np.ndarray | None) -> str:
    """Barometric data keeps its model; any other source is judged by its own jitter (robust
    spread of the 10 m profile around its 100 m moving average)."""
    if source == "barometric":
        return "barometric"
    raw = elevation_profile(distance, altitude, "barometric", timestamps)  # unsmoothed
    if raw is None:
        return "gps"
    alt = raw[1]
    residual = alt - moving_average(alt, 10)
    jitter = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    return "smooth" if jitter < SMOOTH_MAX_JITTER_M else "gps"


def remove_jumps(alt: np.ndarray, times: np.ndarray | None) -> np.ndarray:
    """Rebuild the series without implausibly fast steps (spikes of any length, level shifts)."""
    step = np.diff(alt)
    if times is not None:
        dt = np.diff(times)
        rate = np.abs(step) / np.where(np.isfinite(dt), np.maximum(dt, 1.0), 1.0)
        bad = (np.abs(step) > JUMP_MIN_M) & (rate > JUMP_MAX_RATE)
    else:
        bad = np.abs(step) > JUMP_MIN_M
    if not bad.any():
        return alt
    return alt[0] + np.concatenate(([0.0], np.cumsum(np.where(bad, 0.0, step))))


def median5(values: np.ndarray) -> np.ndarray:
    """Running median of 5 samples: removes 1-2 sample spikes, keeps real steps."""
    if values.size < 5:
        return values.astype(float)
    padded = np.pad(values, 2, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 5)
    return np.partition(windows, 2, axis=1)[:, 2]  # median of 5; NaNs were dropped before


def moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average; the ends use the shrinking window (no edge droop)."""
    if width <= 1 or values.size < 3:
        return values
    half = min(width, values.size) // 2
    csum = np.concatenate(([0.0], np.cumsum(values)))
    idx = np.arange(values.size)
    lo = np.clip(idx - half, 0, values.size)
    hi = np.clip(idx + half + 1, 0, values.size)
    return (csum[hi] - csum[lo]) / (hi - lo)


def grade(alt: np.ndarray, half: int) -> np.ndarray:
    """Centred grade (rise/run) over 2*half steps at every grid point."""
    if alt.size < 2:
        return np.zeros(alt.size)
    half = max(1, min(half, (alt.size - 1) // 2 or 1))
    idx = np.arange(alt.size)
    lo = np.clip(idx - half, 0, alt.size - 1)
    hi = np.clip(idx + half, 0, alt.size - 1)
    run = (hi - lo) * STEP_M
    return np.where(run > 0, (alt[hi] - alt[lo]) / np.maximum(run, 1e-9), 0.0)


def turning_points(alt: np.ndarray) -> np.ndarray:
    """Indices of the ends, local extrema and plateau edges (everything the count can use)."""
    if alt.size < 3:
        return np.arange(alt.size)
    step = np.diff(alt)
    nz = np.flatnonzero(step != 0)
    if nz.size == 0:
        return np.array([0, alt.size - 1])
    signs = np.sign(step[nz])
    flip = np.flatnonzero(signs[1:] != signs[:-1]) + 1
    # Both edges of the plateau at each extreme, and where the last movement stopped.
    edges = (nz[flip - 1] + 1, nz[flip], nz[:1], nz[-1:] + 1)
    return np.unique(np.concatenate(([0, alt.size - 1], *edges)))


def hysteresis(alt: np.ndarray, h: float) -> tuple[float, float, float, int]:
    """(gain, loss, largest single descent, its length in steps) with threshold h."""
    idx = turning_points(alt)
    vals = alt[idx].tolist()  # plain floats: this loop is the hot path
    gain = loss = best_drop = 0.0
    best_len = 0
    direction = 0
    lo_i = hi_i = 0  # running min/max before a direction is known
    ext_i = cand_i = 0  # last confirmed extreme and the current candidate
    for i in range(1, len(vals)):
        x = vals[i]
        if direction == 0:
            lo_i = i if x < vals[lo_i] else lo_i
            hi_i = i if x > vals[hi_i] else hi_i
            if x - vals[lo_i] > h:
                direction, ext_i, cand_i = 1, lo_i, i
            elif vals[hi_i] - x > h:
                direction, ext_i, cand_i = -1, hi_i, i
        elif direction == 1:
            if x > vals[cand_i]:
                cand_i = i
            elif vals[cand_i] - x > h:
                gain += vals[cand_i] - vals[ext_i]
                direction, ext_i, cand_i = -1, cand_i, i
        else:
            if x < vals[cand_i]:  # strict: a descent ends where the bottom is first reached
                cand_i = i
            elif x - vals[cand_i] > h:
                drop = vals[ext_i] - vals[cand_i]
                loss += drop
                if drop > best_drop:
                    best_drop, best_len = drop, int(idx[cand_i] - idx[ext_i])
                direction, ext_i, cand_i = 1, cand_i, i
    if direction == 1:
        gain += vals[cand_i] - vals[ext_i]
    elif direction == -1:
        drop = vals[ext_i] - vals[cand_i]
        loss += drop
        if drop > best_drop:
            best_drop, best_len = drop, int(idx[cand_i] - idx[ext_i])
    return gain, loss, best_drop, best_len
