"""Running dynamics per run: cadence (overall and per speed band) and ground-contact-time balance.

Cadence is only comparable at the same speed (runners lengthen steps and raise cadence as they speed
up), so each run keeps a small cadence-per-speed-band table; `cadence_drop` compares those tables
with the runner's own 8-week baseline. GCT balance drifts on hills (Garmin), so it is averaged over
flat parts only (|grade| < 2%, science.md §6 #10).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPEED_BIN_MPS = 0.25
MIN_RUN_SPEED = 1.5  # m/s; slower is walking or standing
MIN_RUN_CADENCE = 120.0  # spm; fewer steps is walking
FLAT_GRADE = 0.02
MIN_BALANCE_SAMPLES = 60


@dataclass(frozen=True, slots=True)
class DynamicsResult:
    cadence_spm: float | None = None
    gct_balance_left_pct: float | None = None
    gct_flat_s: float = 0.0
    # [speed band lower edge m/s, seconds, mean spm] for every band with running data
    cadence_by_speed: list[list[float]] = field(default_factory=list)


def compute_dynamics(
    timestamps: np.ndarray,
    speed: np.ndarray,
    cadence: np.ndarray,
    balance: np.ndarray,
    grade_at: np.ndarray | None,
) -> DynamicsResult:
    """`grade_at` is the terrain grade at each record (None: no altitude, treat as flat)."""
    n = timestamps.size
    weights = sample_seconds(timestamps)
    spd = speed if speed.size == n else np.full(n, np.nan)
    cad = cadence if cadence.size == n else np.full(n, np.nan)
    slow = np.isfinite(spd) & (spd < MIN_RUN_SPEED)
    running = np.isfinite(cad) & (cad >= MIN_RUN_CADENCE) & ~slow
    cadence_spm = weighted_mean(cad[running], weights[running])
    bands = cadence_bands(spd[running], cad[running], weights[running])
    bal = balance if balance.size == n else np.full(n, np.nan)
    flat = np.ones(n, dtype=bool)
    if grade_at is not None:
        flat = np.abs(np.nan_to_num(grade_at)) < FLAT_GRADE
    usable = np.isfinite(bal) & (bal > 30) & (bal < 70) & flat & running
    balance_pct = (
        weighted_mean(bal[usable], weights[usable]) if usable.sum() >= MIN_BALANCE_SAMPLES else None
    )
    return DynamicsResult(
        cadence_spm=None if cadence_spm is None else round(cadence_spm, 1),
        gct_balance_left_pct=None if balance_pct is None else round(balance_pct, 2),
        gct_flat_s=float(weights[usable].sum()) if balance_pct is not None else 0.0,
        cadence_by_speed=bands,
    )


def sample_seconds(timestamps: np.ndarray) -> np.ndarray:
    """Seconds each record stands for (pauses capped so a stopped watch does not dominate)."""
    if timestamps.size < 2 or not np.isfinite(timestamps).any():
        return np.ones(timestamps.size)
    dt = np.diff(timestamps, append=np.nan)
    dt[-1] = np.nanmedian(dt[:-1]) if dt.size > 1 else 1.0
    return np.clip(np.nan_to_num(dt, nan=1.0), 0.0, 10.0)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float | None:
    total = float(weights.sum())
    if values.size == 0 or total <= 0:
        return None
    return float((values * weights).sum() / total)  # not np.dot: BLAS threads cost more here


def cadence_bands(speed: np.ndarray, cadence: np.ndarray, weights: np.ndarray) -> list[list[float]]:
    ok = np.isfinite(speed) & (speed >= MIN_RUN_SPEED) & (speed < 8.0)
    if not ok.any():
        return []
    band = np.floor(speed[ok] / SPEED_BIN_MPS).astype(np.int64)
    secs = np.bincount(band, weights=weights[ok])
    steps = np.bincount(band, weights=weights[ok] * cadence[ok])
    present = np.flatnonzero(secs > 0)
    return [
        [round(float(b) * SPEED_BIN_MPS, 2), round(float(secs[b]), 1), round(float(steps[b] / secs[b]), 2)]
        for b in present
    ]
