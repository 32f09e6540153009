"""Geography for the second synthetic cohort: street grids, trails, tracks and venue courses.

Everything is in local metres (x east, y north) around an origin latitude/longitude; a `Route` is a
densified polyline with the true ground altitude at each vertex and the arc lengths of its junctions
(where a runner may wait at a crossing). Closed routes (loops, ovals) are run in laps in either
direction; open ones are run out and back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

EARTH_R = 6_371_000.0
STEP_M = 10.0  # vertex spacing after densifying


@dataclass(frozen=True)
class Route:
    key: str
    lat0: float
    lon0: float
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    s: np.ndarray  # cumulative length at each vertex
    closed: bool
    surface: str = "road"  # road | trail | track
    junctions: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def length(self) -> float:
        return float(self.s[-1])


@dataclass
class Terrain:
    """Ground altitude: a base plus Gaussian hills (amplitude, sigma, centre) plus a tilt."""

    base: float
    hills: list[tuple[float, float, float, float]]
    tilt: tuple[float, float] = (0.0, 0.0)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = self.base + self.tilt[0] * x + self.tilt[1] * y
        for amp, sigma, cx, cy in self.hills:
            z = z + amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma))
        return z


def random_terrain(rng: np.random.Generator, base: float, relief: float, n: int = 9,
                   span: float = 9000.0, sigma: tuple[float, float] = (500.0, 1600.0)) -> Terrain:
    """`relief` is the typical hill height in metres (2-5 for a flat city, 50-150 hilly, 400+ alpine)."""
    hills = [(float(relief * rng.uniform(0.4, 1.2) * rng.choice([1, 1, -0.5])),
              float(rng.uniform(*sigma)), float(rng.uniform(-span, span)), float(rng.uniform(-span, span)))
             for _ in range(n)]
    return Terrain(base, hills)


def densify(px: np.ndarray, py: np.ndarray, junction_vertices: bool = True
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resample a corner polyline every ~STEP_M; returns x, y, s and the corner arc lengths."""
    seg = np.hypot(np.diff(px), np.diff(py))
    corner_s = np.concatenate([[0.0], np.cumsum(seg)])
    total = corner_s[-1]
    s = np.linspace(0.0, total, max(2, int(total / STEP_M) + 1))
    x = np.interp(s, corner_s, px)
    y = np.interp(s, corner_s, py)
    return x, y, s, (corner_s if junction_vertices else np.empty(0))


@dataclass
class StreetGrid:
    """A slightly irregular street grid: node (i, j) sits near (i*bx, j*by) rotated by `angle`."""

    rng: np.random.Generator
    bx: float = 150.0
    by: float = 120.0
    angle: float = 0.0
    half: int = 140
    jitter_m: float = 12.0

    def __post_init__(self) -> None:
        n = 2 * self.half + 1
        self._jit = self.rng.normal(0.0, self.jitter_m, size=(n, n, 2))

    def node(self, i: int, j: int) -> tuple[float, float]:
        u, v = i * self.bx, j * self.by
        c, s = math.cos(self.angle), math.sin(self.angle)
        ji, jj = (max(-self.half, min(self.half, k)) + self.half for k in (i, j))
        dx, dy = self._jit[ji, jj]
        return u * c - v * s + dx, u * s + v * c + dy

    def path(self, nodes: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Polyline through grid nodes, stepping one block at a time (every node is a junction)."""
        pts = [nodes[0]]
        for a, b in zip(nodes, nodes[1:], strict=False):
            i, j = a
            while (i, j) != b:  # legs are axis-aligned: walk i first, then j
                if i != b[0]:
                    i += int(np.sign(b[0] - i))
                else:
                    j += int(np.sign(b[1] - j))
                pts.append((i, j))
        xy = np.array([self.node(i, j) for i, j in pts])
        return xy[:, 0], xy[:, 1]


def _route(key: str, origin: tuple[float, float], px, py, terrain: Terrain, closed: bool,
           surface: str = "road", junctions: bool = True) -> Route:
    x, y, s, corners = densify(np.asarray(px, float), np.asarray(py, float), junctions)
    return Route(key, origin[0], origin[1], x, y, terrain(x, y), s, closed, surface, corners)


def grid_loop(key: str, origin, grid: StreetGrid, terrain: Terrain, i0: int, j0: int,
              w: int, h: int) -> Route:
    """A rectangle of w x h blocks with its corner at node (i0, j0), drawn counter-clockwise."""
    corners = [(i0, j0), (i0 + w, j0), (i0 + w, j0 + h), (i0, j0 + h), (i0, j0)]
    px, py = grid.path(corners)
    return _route(key, origin, px, py, terrain, closed=True)


def grid_out(key: str, origin, grid: StreetGrid, terrain: Terrain, rng: np.random.Generator,
             heading: int, length_m: float) -> Route:
    """An open street route from home: straight runs of 3-12 blocks with left/right turns."""
    dirs = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    i, j, d, nodes, total = 0, 0, heading % 4, [(0, 0)], 0.0
    while total < length_m:
        k = int(rng.integers(3, 13))
        i, j = i + dirs[d][0] * k, j + dirs[d][1] * k
        nodes.append((i, j))
        total += k * (grid.bx if dirs[d][0] else grid.by)
        d = (d + int(rng.choice([1, -1]))) % 4 if rng.random() < 0.5 else heading % 4
    px, py = grid.path(nodes)
    return _route(key, origin, px, py, terrain, closed=False)


def wiggly_loop(key: str, origin, terrain: Terrain, rng: np.random.Generator, centre: tuple[float, float],
                length_m: float, surface: str = "trail") -> Route:
    """A closed trail: a circle with random low harmonics, scaled to the wanted length."""
    phi = np.linspace(0.0, 2 * np.pi, 1200)
    r = np.ones_like(phi)
    for k in range(2, 7):
        r += rng.uniform(0.0, 0.18 / k * 3) * np.cos(k * phi + rng.uniform(0, 2 * np.pi))
    px, py = r * np.cos(phi), r * np.sin(phi)
    scale = length_m / float(np.hypot(np.diff(px), np.diff(py)).sum())
    px, py = centre[0] + (px - px[0]) * scale, centre[1] + (py - py[0]) * scale
    return _route(key, origin, px, py, terrain, closed=True, surface=surface, junctions=False)


def wiggly_out(key: str, origin, terrain: Terrain, rng: np.random.Generator, heading: float,
               length_m: float, surface: str = "trail") -> Route:
    """An open trail from the trailhead: heading wanders smoothly (a random walk in curvature)."""
    n = int(length_m / 20.0) + 2
    turn = np.convolve(rng.normal(0.0, 0.08, n), np.ones(15) / 15.0, mode="same")
    theta = heading + np.cumsum(turn)
    px = np.concatenate([[0.0], np.cumsum(20.0 * np.cos(theta))])
    py = np.concatenate([[0.0], np.cumsum(20.0 * np.sin(theta))])
    return _route(key, origin, px, py, terrain, closed=False, surface=surface, junctions=False)


def oval(key: str, origin, base_alt: float, lap_m: float, radius: float, angle: float = 0.3) -> Route:
    """A running-track oval of `lap_m` on its measurement line, drawn counter-clockwise."""
    straight = (lap_m - 2 * math.pi * radius) / 2.0
    s = np.arange(0.0, lap_m + 1e-9, 1.0)
    u, v = np.empty_like(s), np.empty_like(s)
    bends = [(0.0, straight), (straight, straight + math.pi * radius),
             (2 * straight + math.pi * radius, lap_m)]
    a = s < straight  # bottom straight, heading east
    u[a], v[a] = s[a] - straight / 2, -radius
    b = (s >= bends[1][0]) & (s < bends[1][1])  # east bend
    t = (s[b] - straight) / radius - math.pi / 2
    u[b], v[b] = straight / 2 + radius * np.cos(t), radius * np.sin(t)
    c = (s >= bends[1][1]) & (s < bends[2][0])  # top straight, heading west
    u[c], v[c] = straight / 2 - (s[c] - bends[1][1]), radius
    d = s >= bends[2][0]  # west bend
    t = (s[d] - bends[2][0]) / radius + math.pi / 2
    u[d], v[d] = -straight / 2 + radius * np.cos(t), radius * np.sin(t)
    x = u * math.cos(angle) - v * math.sin(angle)
    y = u * math.sin(angle) + v * math.cos(angle)
    return Route(key, origin[0], origin[1], x, y, np.full_like(s, base_alt), s, True, "track")


def profile_course(key: str, origin, rng: np.random.Generator, length_m: float,
                   profile: list[tuple[float, float]], surface: str = "trail") -> Route:
    """A venue loop whose altitude follows `profile` [(km, altitude m), ...] plus small bumps."""
    terrain = Terrain(0.0, [])
    base = wiggly_loop(key, origin, terrain, rng, (0.0, 0.0), length_m, surface)
    km, alt = zip(*profile, strict=True)
    z = np.interp(base.s / 1000.0, km, alt)
    bumps = np.convolve(rng.normal(0.0, 1.5, base.s.size), np.ones(9) / 3.0, mode="same")
    return Route(key, origin[0], origin[1], base.x, base.y, z + bumps, base.s, True, surface)


def to_latlon(lat0: float, lon0: float, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = lat0 + np.degrees(y / EARTH_R)
    lon = lon0 + np.degrees(x / (EARTH_R * math.cos(math.radians(lat0))))
    return lat, lon
