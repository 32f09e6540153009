"""Route geometry: shape, loop direction, 400 m and 200 m track laps and repetition keys
(science.md §3.4).

GPS cannot tell which side of the road a runner is on, so we measure what it can: whether a run
is a loop, an out-and-back or a track session, which way loops and laps turn (signed area, shoelace
formula in a local east/north frame: > 0 counter-clockwise), and compact keys for "the same segment
in the same direction" so that repetition over weeks is counted without keeping the polyline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EARTH_M_PER_DEG = 111_320.0
STEP_M = 10.0  # resampling step along the path
LAP_CLOSE_M = 20.0  # a lap returns within this distance of where it started


@dataclass(frozen=True, slots=True)
class Oval:
    """A standard track: lap lengths to try (steps of STEP_M), the oval's extent, and how sharply
    its bends may turn over `span` steps (95th percentile, degrees)."""

    lap_steps: np.ndarray
    major_m: tuple[float, float]
    minor_m: tuple[float, float]
    span: int
    max_turn_deg: float


# 400 m oval (lane 1): straights 84.39 m, kerb radius 36.5 m -> about 158 m x 74 m outside.
# Heading change per 30 m: a 36.5 m bend gives 47 degrees (real track files 48-65 with GPS
# noise), a right-angle street corner 90 (synthetic blocks with 0-5 m noise: 88-96).
OUTDOOR = Oval(np.arange(34, 47), (135.0, 215.0), (50.0, 115.0), 3, 78.0)
# 200 m indoor oval (World Athletics: bend radius 15-19 m, straights ~35-50 m, banked): about
# 70-90 m x 30-40 m, GPS-smoothed to 75-78 x 44-49 m. Its bends turn ~33 degrees per 10 m; a
# street corner turns 90 in a few metres. No city block is this small, so size, laps of ~200 m
# and bends without corners are enough (issue 22: a 200 m indoor oval was counted as road).
INDOOR = Oval(np.arange(17, 24), (55.0, 105.0), (22.0, 65.0), 1, 60.0)
OVALS = (OUTDOOR, INDOOR)
LAP_STEPS = OUTDOOR.lap_steps
MIN_TRACK_M = 800.0  # at least two laps before we call it track running
CELL_M = 100.0  # route-repetition grid cell
KEY_EVERY = 5  # one key sample every 5 steps = 50 m
SECTORS = 6  # heading sectors of 60 degrees: same road, same direction -> same sector
# Sector edges sit 15 degrees off the compass points, so the common north-south and east-west
# streets are far from an edge and GPS heading noise does not flip their key.
SECTOR_OFFSET = np.radians(15.0)


@dataclass(frozen=True, slots=True)
class RouteResult:
    has_gps: bool = False
    shape: str = "none"
    direction: str | None = None
    track_laps: int | None = None
    track_m_cw: float = 0.0
    track_m_ccw: float = 0.0
    segment_keys: list[int] = field(default_factory=list)
    segment_m: list[int] = field(default_factory=list)


def compute_route(lat: np.ndarray, lon: np.ndarray, sub_sport: str | None) -> RouteResult:
    path = resample_path(lat, lon)
    if path is None:
        if sub_sport == "track":
            return RouteResult(shape="track")
        return RouteResult()
    lat_r, lon_r, xy = path
    track_mask, laps, cw, ccw = detect_track(xy)
    length = (len(xy) - 1) * STEP_M
    is_track = sub_sport == "track" or (cw + ccw) >= 0.5 * length
    if is_track:
        if laps is None:
            laps = max(1, int(round(length / 400.0)))
        direction = loop_direction(xy[track_mask] if track_mask.any() else xy, strict=False)
        return RouteResult(True, "track", direction, laps, cw, ccw)
    keys, metres = segment_keys(lat_r, lon_r, xy, ~track_mask)
    shape = classify_shape(xy)
    direction = loop_direction(xy) if shape == "loop" else None
    return RouteResult(True, shape, direction, laps, cw, ccw, keys, metres)


def resample_path(
    lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Positions every STEP_M metres along the path: (lat, lon, local xy in metres)."""
    if lat.size != lon.size or lat.size < 2:
        return None
    ok = np.isfinite(lat) & np.isfinite(lon) & ((lat != 0) | (lon != 0))
    if ok.sum() < 2:
        return None
    lat, lon = lat[ok], lon[ok]
    xy = smooth_xy(to_local(lat, lon))
    dist = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))))
    if dist[-1] < 3 * STEP_M:
        return None
    grid = np.arange(0.0, dist[-1], STEP_M)
    lat_r, lon_r = np.interp(grid, dist, lat), np.interp(grid, dist, lon)
    xy_r = np.column_stack((np.interp(grid, dist, xy[:, 0]), np.interp(grid, dist, xy[:, 1])))
    return lat_r, lon_r, xy_r


def smooth_xy(xy: np.ndarray, width: int = 5) -> np.ndarray:
    """Light moving average: point-to-point jitter would otherwise inflate the path length."""
    if len(xy) < 2 * width:
        return xy
    kernel = np.ones(width) / width
    pad = width // 2
    padded = np.pad(xy, ((pad, pad), (0, 0)), mode="edge")
    return np.column_stack([np.convolve(padded[:, k], kernel, mode="valid") for k in (0, 1)])


def to_local(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Equirectangular east/north metres around the first point (exact enough for a run)."""
    lat0 = np.radians(lat[0])
    x = (lon - lon[0]) * EARTH_M_PER_DEG * np.cos(lat0)
    y = (lat - lat[0]) * EARTH_M_PER_DEG
    return np.column_stack((x, y))


def signed_area(xy: np.ndarray) -> float:
    """Shoelace area of the closed polygon: > 0 counter-clockwise, < 0 clockwise."""
    if len(xy) < 3:
        return 0.0
    x, y = xy[:, 0] - xy[:, 0].mean(), xy[:, 1] - xy[:, 1].mean()
    return 0.5 * float((x * np.roll(y, -1)).sum() - (np.roll(x, -1) * y).sum())


def loop_direction(xy: np.ndarray, strict: bool = True) -> str | None:
    """cw/ccw from the signed area; None when the loop encloses too little area to say (strict)."""
    area = signed_area(xy)
    perimeter = max((len(xy) - 1) * STEP_M, STEP_M)
    compactness = 4 * np.pi * abs(area) / perimeter**2  # 1 for a circle, ~0 for a retrace
    if area == 0 or (strict and compactness < 0.05):
        return None
    return "ccw" if area > 0 else "cw"


def classify_shape(xy: np.ndarray) -> str:
    length = (len(xy) - 1) * STEP_M
    if is_out_and_back(xy):
        return "out_and_back"
    gap = float(np.hypot(*(xy[-1] - xy[0])))
    return "loop" if gap <= max(200.0, 0.05 * length) else "point_to_point"


def is_out_and_back(xy: np.ndarray, near_m: float = 50.0, share: float = 0.6) -> bool:
    """Does the second half retrace the first half in the opposite direction?"""
    stride = -(-len(xy) // 300)  # cap the pairwise comparison at 150 x 150 points
    pts = xy[::stride].astype(np.float32)
    heading = np.gradient(pts, axis=0)
    half = len(pts) // 2
    if half < 4:
        return False
    first, second = pts[:half], pts[half:]
    d2 = ((second[:, None, :] - first[None, :, :]) ** 2).sum(axis=2)
    nearest = d2.argmin(axis=1)
    close = d2[np.arange(len(second)), nearest] <= near_m**2
    opposite = (heading[half:] * heading[:half][nearest]).sum(axis=1) < 0
    return bool((close & opposite).mean() >= share)


def detect_track(xy: np.ndarray) -> tuple[np.ndarray, int | None, float, float]:
    """(mask of points on a 400 m or 200 m oval, lap count, metres clockwise, metres ccw)."""
    mask = np.zeros(len(xy), dtype=bool)
    laps = cw = ccw = 0.0
    for oval in OVALS:
        seg_mask, seg_laps, seg_cw, seg_ccw = detect_oval(xy, oval, mask)
        mask |= seg_mask
        laps, cw, ccw = laps + seg_laps, cw + seg_cw, ccw + seg_ccw
    return mask, (int(round(laps)) if laps else None), cw, ccw


def detect_oval(xy: np.ndarray, oval: Oval, taken: np.ndarray
                ) -> tuple[np.ndarray, float, float, float]:
    n = len(xy)
    mask = np.zeros(n, dtype=bool)
    if n <= oval.lap_steps[-1] + 1:
        return mask, 0.0, 0.0, 0.0
    close, best = lap_closure(xy, oval.lap_steps)
    laps = cw = ccw = 0.0
    for start, stop in runs(close & ~taken):
        lap = float(np.median(best[start:stop]))
        end = min(n, stop + int(lap))
        region = xy[start:end]
        if (end - start) * STEP_M < MIN_TRACK_M or not looks_like_oval(region, oval):
            continue
        mask[start:end] = True
        laps += (end - start) / lap
        seg_cw, seg_ccw = turning_metres(region)
        cw, ccw = cw + seg_cw, ccw + seg_ccw
    return mask, laps, cw, ccw


def lap_closure(xy: np.ndarray, lap_steps: np.ndarray = LAP_STEPS
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per point: does the path return within LAP_CLOSE_M after one lap, and after how many steps."""
    n = len(xy)
    close = np.zeros(n, dtype=bool)
    best = np.full(n, int(np.median(lap_steps)))
    # Cheap pre-filter at exactly one lap; only points that come back near it get the full search.
    mid = int(np.median(lap_steps))
    near = np.zeros(n, dtype=bool)
    near[: n - mid] = np.hypot(*(xy[mid:] - xy[:-mid]).T) <= LAP_CLOSE_M + 80.0
    cand = np.flatnonzero(near)
    if cand.size == 0:
        return close, best
    idx = cand[:, None] + lap_steps[None, :]
    ahead = xy[np.minimum(idx, n - 1)]
    gap = np.hypot(*(ahead - xy[cand][:, None, :]).transpose(2, 0, 1))
    gap = np.where(idx < n, gap, np.inf)
    best[cand] = lap_steps[gap.argmin(axis=1)]
    close[cand] = gap.min(axis=1) <= LAP_CLOSE_M
    return close, best


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of consecutive True values."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def looks_like_oval(region: np.ndarray, oval: Oval = OUTDOOR) -> bool:
    """A standard track by geometry: the size of an oval and the shape of one (two straights
    joined by two bends of the standard radius), not just any small closed loop. A 400 m bend
    turns about 47 degrees every 30 m all the way round; a city block of the same perimeter
    turns 90 degrees at each corner within a few metres, which no track bend does."""
    centred = region - region.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(centred.T))
    proj = centred @ vectors
    minor, major = np.ptp(proj, axis=0)
    major_ok = oval.major_m[0] <= major <= oval.major_m[1]
    if not (major_ok and oval.minor_m[0] <= minor <= oval.minor_m[1]):
        return False
    return sharpest_turns(region, oval.span) <= oval.max_turn_deg


def sharpest_turns(xy: np.ndarray, span: int = 3) -> float:
    """95th percentile of the heading change over `span` steps (span x 10 m), in degrees."""
    step = np.diff(xy, axis=0)
    if len(step) <= span:
        return 0.0
    heading = np.unwrap(np.arctan2(step[:, 1], step[:, 0]))
    return float(np.percentile(np.degrees(np.abs(heading[span:] - heading[:-span])), 95))


def turning_metres(region: np.ndarray) -> tuple[float, float]:
    """Metres run turning clockwise vs counter-clockwise around the region's centre."""
    rel = region - region.mean(axis=0)
    cross = rel[:-1, 0] * rel[1:, 1] - rel[:-1, 1] * rel[1:, 0]
    return float((cross < 0).sum() * STEP_M), float((cross > 0).sum() * STEP_M)


def segment_keys(
    lat: np.ndarray, lon: np.ndarray, xy: np.ndarray, keep: np.ndarray
) -> tuple[list[int], list[int]]:
    """Directed grid keys (cell + heading sector) with the metres each covers, deduplicated."""
    if len(xy) < 3:
        return [], []
    heading = np.gradient(xy, axis=0)
    pick = np.arange(0, len(xy), KEY_EVERY)
    pick = pick[keep[pick]]
    if pick.size == 0:
        return [], []
    # Cells come from absolute coordinates so that different runs share them; the longitude scale
    # uses the 1-degree latitude band, identical for every run in the band.
    band = np.radians(np.floor(lat[pick]) + 0.5)
    gy = np.floor(lat[pick] * EARTH_M_PER_DEG / CELL_M).astype(np.int64)
    gx = np.floor(lon[pick] * EARTH_M_PER_DEG * np.cos(band) / CELL_M).astype(np.int64)
    angle = np.arctan2(heading[pick, 1], heading[pick, 0])
    width = 2 * np.pi / SECTORS
    sector = np.floor((angle + np.pi + SECTOR_OFFSET) / width).astype(np.int64) % SECTORS
    keys = ((gy & 0x1FFFFF) << 24) | ((gx & 0x1FFFFF) << 3) | sector
    unique, counts = np.unique(keys, return_counts=True)
    return unique.tolist(), (counts * int(KEY_EVERY * STEP_M)).tolist()
