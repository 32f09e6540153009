"""Knee load: every run in knee-equivalent kilometres (1 = one easy, flat km at the runner's own
easy pace). The weights and the measurements they come from are in docs/knee-load.md.

Two levels, like the rest of the engine:

1. `profile(...)` once per run, stored in its metrics (`KneeMetrics`): running metres per speed
   band, each already weighted for grade; walking metres (grade-weighted) apart. Nothing in it
   depends on the runner, so it never has to be recomputed.
2. `run_loads(history)` turns profiles into knee-km with the runner's easy pace (the median speed
   of their previous runs) and their usual cadence; a run without samples (a Garmin summary, a
   Strava activity without streams, an old stored run) gets `fallback` from distance, elevation
   loss and pace, marked low confidence. A run's load reads only runs before it, so a new run adds
   its own load without changing the history's.

The daily series, acute load and tolerance are in `kneetolerance.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workers.analysis.dynamics import MIN_RUN_CADENCE, MIN_RUN_SPEED

# Downhill: +5% of load per 1% of descent grade. Anchors: Gottschall & Kram 2005, normal impact
# peak +54% at -9 deg (-15.8%) = +3.4%/1%, a lower bound for the knee (its share of the support
# moment is highest downhill, Shih & Ho 2023); Kuster 1993, walking at -19.3%: patellofemoral
# compression 3-4x level = +10-15%/1%, an upper bound (walking). Capped at 3x (Garmin: "fast
# downhill running can deliver three times the impact of easy flat runs").
DOWN_PER_GRADE = 5.0
# Walking downhill loads the kneecap far more than walking on the level (Kuster 1993: 3-4x at
# -19.3% => ~13 per unit grade).
WALK_DOWN_PER_GRADE = 13.0
GRADE_WEIGHT_MAX = 3.0
# Uphill: no discount and no surcharge. Impact peaks fall (absent at +9 deg), active peaks do not
# change (Gottschall & Kram 2005); the knee's share of the support moment is like level running
# (Shih & Ho 2023). The knee does less eccentric work going up: that is the "less" of the issue.
UP_WEIGHT = 1.0
# Speed above easy pace: +50% per +100% of speed, capped at +50%. Peak patellofemoral force per
# step rises with speed (+9-36% from 2.5 to 4.2 m/s), load summed per km falls (-9-34%, Bramah
# et al. 2023; Petersen 2015: +80% per km at 8 vs 15.8 km/h). Which one injures is not known:
# this is the thinnest weight (docs/knee-load.md). Slower than easy: 1 (the cumulative load per
# km rises, the peaks fall: the two cancel in this model).
SPEED_SLOPE = 0.5
SPEED_WEIGHT_MAX = 1.5
# Walking within a run: half an easy running km (Garmin Running Tolerance; Miller 2014: per metre
# the knee's contact load is similar, 0.75 vs 0.80 BW/m, while its peak is a third of running's).
WALK_WEIGHT = 0.5
# Cadence vs the runner's own at the same speeds: -10% cadence (+10% step length) => +14% per
# mile, +10% cadence => -7.5% (Willson et al. 2014, patellofemoral stress per mile); bounded.
CADENCE_SLOPE = 1.1
CADENCE_WEIGHT = (0.85, 1.2)
CADENCE_MIN_MATCHED_S = 300.0
# Unaccustomed descent: eccentric damage is largest in runners not used to it, and one earlier
# bout protects (repeated-bout effect; Bontemps et al. 2020, Khassetarash et al. 2022). The
# descent load beyond the largest of the previous 30 days counts this many times. The factor is
# a modelling choice (no study gives one): docs/knee-load.md.
NOVEL_DESCENT_WEIGHT = 2.0
NOVEL_WINDOW_DAYS = 30
NOVEL_FLOOR_M = 500.0  # ~100 m of descent: ordinary rolling roads are never novel
CADENCE_BASELINE_RUNS = 10
EASY_WINDOW_DAYS = 90
EASY_MIN_RUNS = 3
SPEED_WINDOW = 5  # samples each side: speed over ~10 s, so GPS jitter does not look like surges
UNKNOWN_SPEED = -1.0  # the band of samples without usable times
# Speed bands of 0.1 m/s, weighed by their lower edge: a run at its easy pace never gets a
# surcharge from rounding, a faster one at most 0.1 m/s (~3%) too little.
SPEED_BIN_MPS = 0.1
# A summary's average speed mixes running and walking breaks (a mountain run averages under the
# per-sample walking speed): only an average below a brisk walk (~4.3 km/h) counts as a walk.
SUMMARY_WALK_SPEED = 1.2


@dataclass(slots=True)
class KneeMetrics:
    """A run's knee profile (stored with its metrics). `bands`: [speed band lower edge m/s (or -1:
    unknown), running metres, grade-weighted running metres]."""

    method: str = "none"  # samples | summary | none (stored before knee load existed)
    confidence: str | None = None  # high | medium | low
    bands: list[list[float]] = field(default_factory=list)
    walk_m: float = 0.0
    walk_weighted_m: float = 0.0
    speed_mps: float | None = None  # median running speed (the runner's pace, for easy pace)
    # An old run read without its metrics (workers.analyze.light_metrics): its stored knee-km.
    load_km: float | None = None


def grade_weight(grade: np.ndarray, walking: np.ndarray | bool = False) -> np.ndarray:
    """Weight per metre for a grade (fraction, negative = downhill)."""
    down = np.clip(-np.asarray(grade, dtype=float), 0.0, None)
    slope = np.where(walking, WALK_DOWN_PER_GRADE, DOWN_PER_GRADE)
    return np.where(down > 0, np.minimum(1.0 + slope * down, GRADE_WEIGHT_MAX), UP_WEIGHT)


def speed_weight(ratio: np.ndarray | float) -> np.ndarray:
    """Weight for speed / easy speed (unknown speed: ratio <= 0 -> 1)."""
    r = np.asarray(ratio, dtype=float)
    return np.clip(1.0 + SPEED_SLOPE * (r - 1.0), 1.0, SPEED_WEIGHT_MAX)


def cadence_weight(change: float | None) -> float:
    """Weight for (cadence / usual cadence at the same speeds) - 1."""
    if change is None:
        return 1.0
    return min(max(1.0 - CADENCE_SLOPE * change, CADENCE_WEIGHT[0]), CADENCE_WEIGHT[1])


def profile(timestamps: np.ndarray, distance: np.ndarray, speed: np.ndarray,
            cadence: np.ndarray, grade_at: np.ndarray | None, altitude_source: str) -> KneeMetrics:
    """The knee profile of a recorded run: per segment between two records, its metres, grade
    and speed. Without a usable distance stream there is nothing to weigh (see `fallback`)."""
    d = np.asarray(distance, dtype=float)
    if d.size < 2 or np.isfinite(d).sum() < 2:
        return KneeMetrics()
    d = np.maximum.accumulate(np.nan_to_num(d, nan=float(np.nanmin(d))))
    step = np.diff(d)
    grade = np.zeros(step.size) if grade_at is None else np.nan_to_num(grade_at[1:])
    v = segment_speed(timestamps, d, speed)
    cad = cadence[1:] if cadence.size == d.size else np.full(step.size, np.nan)
    walking = (v >= 0) & ((v < MIN_RUN_SPEED) | (np.isfinite(cad) & (cad < MIN_RUN_CADENCE)
                                                 & (cad > 0)))
    weighted = step * grade_weight(grade, walking)
    run = ~walking
    return KneeMetrics(
        method="samples", confidence=sample_confidence(grade_at is not None, altitude_source, v),
        bands=speed_bands(v[run], step[run], weighted[run]),
        walk_m=round(float(step[walking].sum()), 1),
        walk_weighted_m=round(float(weighted[walking].sum()), 1),
        speed_mps=median_speed(v[run], step[run]))


def segment_speed(timestamps: np.ndarray, d: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Speed of each segment, m/s: over ~10 s of distance and time; the device's own speed
    stream where times are missing; UNKNOWN_SPEED where neither exists."""
    n = d.size
    t = np.asarray(timestamps, dtype=float)
    if t.size == n and np.isfinite(t).all() and t[-1] > t[0]:
        k = SPEED_WINDOW
        lo, hi = np.clip(np.arange(n - 1) - k, 0, n - 1), np.clip(np.arange(1, n) + k, 0, n - 1)
        dt = t[hi] - t[lo]
        v = np.divide(d[hi] - d[lo], dt, out=np.full(n - 1, UNKNOWN_SPEED), where=dt > 0)
        return np.where(np.isfinite(v) & (v >= 0) & (v < 12.0), v, UNKNOWN_SPEED)
    if speed.size == n and np.isfinite(speed).any():
        v = 0.5 * (speed[1:] + speed[:-1])
        return np.where(np.isfinite(v) & (v >= 0), v, UNKNOWN_SPEED)
    return np.full(n - 1, UNKNOWN_SPEED)


def speed_bands(v: np.ndarray, metres: np.ndarray, weighted: np.ndarray) -> list[list[float]]:
    band = np.where(v >= 0, np.floor(np.clip(v, 0, 11.99) / SPEED_BIN_MPS + 1e-9), -1).astype(np.int64)
    out = []
    for b in np.unique(band):
        sel = band == b
        m = float(metres[sel].sum())
        if m > 0:
            edge = UNKNOWN_SPEED if b < 0 else round(float(b) * SPEED_BIN_MPS, 2)
            out.append([edge, round(m, 1), round(float(weighted[sel].sum()), 1)])
    return out


def median_speed(v: np.ndarray, metres: np.ndarray) -> float | None:
    ok = v >= 0
    if metres[ok].sum() <= 0:
        return None
    order = np.argsort(v[ok])
    cum = np.cumsum(metres[ok][order])
    return round(float(v[ok][order][np.searchsorted(cum, cum[-1] / 2)]), 3)


def sample_confidence(has_grade: bool, altitude_source: str, v: np.ndarray) -> str:
    """High with a barometer and times; medium with noisier altitude, none (flat assumed) or
    without times."""
    if has_grade and altitude_source == "barometric" and (v >= 0).any():
        return "high"
    return "medium"


def fallback(distance_m: float, moving_time_s: float, loss_m: float | None) -> KneeMetrics:
    """A run known only by its totals. Descent adds DOWN_PER_GRADE x metres of descent: exact
    for the linear part of the grade weight (metres x grade = height lost), without its cap."""
    dist = max(float(distance_m or 0.0), 0.0)
    if dist <= 0:
        return KneeMetrics(method="summary", confidence="low")
    loss = max(float(loss_m or 0.0), 0.0)
    weighted = min(dist + DOWN_PER_GRADE * loss, GRADE_WEIGHT_MAX * dist)
    speed = dist / moving_time_s if moving_time_s and moving_time_s > 0 else None
    edge = UNKNOWN_SPEED if speed is None else round(
        float(np.floor(min(speed, 11.99) / SPEED_BIN_MPS + 1e-9)) * SPEED_BIN_MPS, 2)
    if speed is not None and speed < SUMMARY_WALK_SPEED:
        return KneeMetrics("summary", "low", [], round(dist, 1), round(weighted, 1), None)
    return KneeMetrics("summary", "low", [[edge, round(dist, 1), round(weighted, 1)]], 0.0, 0.0,
                       None if speed is None else round(speed, 3))


def knee_of(m) -> KneeMetrics:
    """The profile to use for stored metrics `m` (ActivityMetrics): its own, else the fallback
    from its totals (our loss, else the device's or provider's; none indoors or by hand)."""
    if m.knee.method == "samples" or (m.knee.method == "summary" and (m.knee.bands or
                                                                      m.knee.walk_m)):
        return m.knee
    if m.knee.load_km is not None:
        return m.knee
    loss = 0.0 if (m.indoor or m.manual) else (m.elevation.loss_m or m.elevation.device_loss_m
                                                 or 0.0)
    return fallback(m.distance_m, m.moving_time_s, loss)


def descent_extra_m(k: KneeMetrics) -> float:
    """What descents added to a run, in knee-metres (before speed and cadence)."""
    running = sum(w - m for _e, m, w in k.bands)
    return max(running + WALK_WEIGHT * (k.walk_weighted_m - k.walk_m), 0.0)


def novel_descent_m(extra_m: float, accustomed_m: float) -> float:
    """The part of a run's descent load beyond what the runner did in the previous 30 days (at
    least NOVEL_FLOOR_M): counted NOVEL_DESCENT_WEIGHT times (repeated-bout effect)."""
    return max(extra_m - max(accustomed_m, NOVEL_FLOOR_M), 0.0) * (NOVEL_DESCENT_WEIGHT - 1.0)


def run_load_m(k: KneeMetrics, easy_mps: float | None, cadence_change: float | None) -> float:
    """Knee-equivalent metres of one run for a runner whose easy speed is `easy_mps`. Bands are
    sorted by speed, so only the few above easy pace are visited for the surcharge (this runs once
    per run of a ten-year history)."""
    running = sum(band[2] for band in k.bands)
    if easy_mps:
        for edge, _metres, weighted in reversed(k.bands):
            ratio = edge / easy_mps
            if ratio <= 1.0:
                break
            running += weighted * min(SPEED_SLOPE * (ratio - 1.0), SPEED_WEIGHT_MAX - 1.0)
    return running * cadence_weight(cadence_change) + WALK_WEIGHT * k.walk_weighted_m
