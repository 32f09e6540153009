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
    # Noisy GPS altitude (phones: ~0.6 m of step-to-step jitter at 10 m steps) needs heavy
    # smoothing.
    "gps": NoiseModel(hysteresis_m=15.0, smooth_m=200.0, grade_window_m=200.0),
    # A smooth profile of unknown origin (under 0.5 m of jitter): most often a barometer's altitude
    # that arrived without a device name (a Garmin Connect or Strava GPX export, Strava streams
    # without a known barometric `device_name`), else a GPS watch's filtered altitude or elevation
    # data. 3.5 m: chosen in bench/descent.py on half of the copies derived from every recording
    # with a device total (GPX as Strava and Garmin Connect export them, streams at full and low
    # resolution) and checked on the other half (issue 22; it had been 4 m, fitted on the same
    # copies it was judged on, and read 6-24% off on unseen Strava GPX exports).
    "smooth": NoiseModel(hysteresis_m=3.5, smooth_m=0.0, grade_window_m=200.0),
    # Sparse samples (Strava streams at `resolution` "low", ~100 points a run; any profile whose
    # samples are more than SPARSE_SPACING_M apart): every sample is already a reading tens of
    # metres from the next, so the 5-sample spike filter would erase real hills (it cost 40% of
    # the descent on low-resolution copies) and little jitter is left to hide. Calibrated in
    # bench/descent.py on half the derived copies, checked on the other half.
    "sparse": NoiseModel(hysteresis_m=1.0, smooth_m=0.0, grade_window_m=200.0),
}
# Jitter is measured on second differences of the 10 m profile (white noise of spread s gives
# second differences of spread s * sqrt(6); a hill's curvature gives almost none): phone GPS altitude
# reads 0.61 (both iPhone files), every barometric recording's copy 0.00-0.39. The earlier measure
# (spread around a 100 m average) counted a mountain profile's own bends as noise and put the
# 1,414 m sportslib__garmin.fit among the phones (0.83 vs 1.02-1.58), under-reading it by 10%
# (issue 22, found on the check half of bench/descent.py).
SMOOTH_MAX_JITTER_M = 0.5
SPARSE_SPACING_M = 30.0  # median distance between samples above which a profile is sparse


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
    raw = altitude[ok] if source == "sparse" else median5(altitude[ok])  # noise is not a jump
    alt = remove_jumps(raw, times)
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
    resolution: str | None = None,
) -> ElevationResult:
    return elevation_with_grades(distance, altitude, source, timestamps, resolution)[0]


def elevation_with_grades(
    distance: np.ndarray,
    altitude: np.ndarray,
    source: str,
    timestamps: np.ndarray | None = None,
    resolution: str | None = None,
) -> tuple[ElevationResult, np.ndarray | None, np.ndarray | None]:
    """The result plus (distance grid, grade at each grid point) for per-record terrain lookups.
    `resolution`: Strava's stream resolution when the samples came downsampled."""
    model_name = noise_model(distance, altitude, source, timestamps, resolution)
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
                timestamps: np.ndarray | None, resolution: str | None = None) -> str:
    """Sparse samples (a "low" Strava stream, or samples over SPARSE_SPACING_M apart) get the
    sparse model whatever the sensor; barometric data keeps its model; any other source is judged
    by its own jitter (robust spread of the second differences of the 10 m profile)."""
    if resolution == "low" or sample_spacing(distance, altitude) > SPARSE_SPACING_M:
        return "sparse"
    if source == "barometric":
        return "barometric"
    raw = elevation_profile(distance, altitude, "barometric", timestamps)  # unsmoothed
    if raw is None:
        return "gps"
    alt = raw[1]
    second = np.diff(alt, 2)
    if second.size == 0:
        return "gps"
    jitter = 1.4826 * float(np.median(np.abs(second - np.median(second)))) / np.sqrt(6.0)
    return "smooth" if jitter < SMOOTH_MAX_JITTER_M else "gps"


def sample_spacing(distance: np.ndarray, altitude: np.ndarray) -> float:
    """Median distance in metres between successive samples that have an altitude."""
    ok = np.isfinite(distance) & np.isfinite(altitude)
    steps = np.diff(np.maximum.accumulate(distance[ok]))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 0.0


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
