"""A runner's history as sorted numpy columns, and the Finding the rules produce.

`History.build(items)` is done once per evaluation; every rule then answers its question with
`searchsorted` windows over these columns, so re-evaluating a 10-year history stays cheap.
Days and weeks are the runner's local ones: each run's UTC offset (from the provider, FIT
`local_timestamp`, Garmin's `startTimeOffsetInSeconds`) or else the athlete's default offset turns
its start into a local day number, and weeks start on Monday local time (a Los Angeles run at 17:30
on Sunday belongs to that Sunday's week, not to the next one as it would in UTC).
Pre-rule filtering (DESIGN §1) happens here: non-running activities are dropped; indoor and manual
runs count for distance but not for terrain; route rules only see outdoor GPS runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from workers.analysis.metrics import ActivityMetrics

DAY_S = 86_400.0
MAX_OFFSET_S = 14 * 3600  # UTC-12 .. UTC+14: anything beyond is a broken clock, not a timezone


class HistoryItem(NamedTuple):
    id: str
    source: str
    metrics: ActivityMetrics


Day = date  # inside Finding, `date` names its field


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    activity: str | None
    date: date
    value: float | None
    threshold: float | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str | None, Day]:
        """What makes a finding unique: re-evaluating must never duplicate it."""
        return (self.rule, self.activity, self.date)

    @property
    def week(self) -> Day:
        """Monday of the finding's local week: the grouping key for weekly digests."""
        return self.date - timedelta(days=self.date.weekday())

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "activity": self.activity,
            "date": self.date.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "evidence": self.evidence,
            "sources": list(self.sources),
        }


def local_offset(offset_s: float | None, default_s: float = 0) -> float:
    """A usable UTC offset in seconds: the run's own when plausible, else the default."""
    for value in (offset_s, default_s):
        if value is not None and np.isfinite(value) and abs(value) <= MAX_OFFSET_S:
            return float(value)
    return 0.0


def day_number(moment: date | datetime) -> int:
    """Days since 1970-01-01 — the calendar the rules' windows use (a datetime: its UTC day)."""
    if isinstance(moment, datetime):
        return int(moment.astimezone(UTC).timestamp() // DAY_S)
    return (moment - date(1970, 1, 1)).days


def from_day_number(day: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(day))


@dataclass(slots=True)
class History:
    items: list[HistoryItem]
    t: np.ndarray  # start, POSIX seconds, sorted
    day: np.ndarray  # local day number (non-decreasing)
    dist: np.ndarray  # metres (every run)
    loss: np.ndarray  # metres (terrain runs only, else 0)
    steep10: np.ndarray  # km at grade <= -10% (terrain runs only)
    terrain: np.ndarray  # bool: outdoor, recorded, with altitude
    road: np.ndarray  # bool: outdoor GPS run that is neither a track session nor a trail run
    track_cw: np.ndarray  # km
    track_ccw: np.ndarray  # km
    sources: np.ndarray  # object array of str
    gear: np.ndarray  # object array of str | None
    race: np.ndarray  # bool: a race (provider workout type or name)
    _keys: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _memo: dict[tuple, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, items: list[HistoryItem], default_offset_s: int = 0) -> History:
        """`default_offset_s`: the athlete's UTC offset for runs whose file or provider gave none."""
        runs = [item for item in items if (item.metrics.sport or "") == "running"]
        runs.sort(key=lambda item: (item.metrics.start_time, item.id))
        m = [item.metrics for item in runs]
        terrain = np.array([x.terrain for x in m], dtype=bool)
        t = np.array([x.start_time.timestamp() for x in m], dtype=float)
        offsets = np.array([local_offset(x.utc_offset_s, default_offset_s) for x in m], dtype=float)
        # Travel west can make a later run's local day earlier; the windows need sorted days.
        day = np.floor((t + offsets) / DAY_S).astype(np.int64)
        return cls(
            items=runs,
            t=t,
            day=np.maximum.accumulate(day) if day.size else day,
            dist=np.array([meaningful(x.distance_m) for x in m], dtype=float),
            loss=np.where(terrain, [x.elevation.loss_m for x in m], 0.0).astype(float),
            steep10=np.where(terrain, [x.elevation.km_grade_le_minus10 for x in m], 0.0),
            terrain=terrain,
            road=np.array([is_road(x) for x in m], dtype=bool),
            track_cw=np.array([0.0 if x.manual else x.route.track_km_cw for x in m]),
            track_ccw=np.array([0.0 if x.manual else x.route.track_km_ccw for x in m]),
            sources=np.array([item.source for item in runs], dtype=object),
            gear=np.array([x.gear_id for x in m], dtype=object),
            race=np.array([bool(x.race) for x in m], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.items)

    def days(self, first: int, last: int) -> slice:
        """Items whose local day is in [first, last]."""
        lo = int(np.searchsorted(self.day, first, side="left"))
        return slice(lo, int(np.searchsorted(self.day, last, side="right")))

    def before(self, index: int, window_days: float) -> slice:
        """Items strictly before item `index` and within `window_days` of its start."""
        lo = int(np.searchsorted(self.t, self.t[index] - window_days * DAY_S, side="left"))
        hi = int(np.searchsorted(self.t, self.t[index], side="left"))
        return slice(lo, min(hi, index))

    def source_set(self, *selections: slice | np.ndarray | int) -> list[str]:
        found: set[str] = set()
        for sel in selections:
            picked = self.sources[sel]
            found.update([picked] if isinstance(picked, str) else picked.tolist())
        return sorted(found)

    def memo(self, key: tuple, day: int, compute: Callable[[int], Any]) -> Any:
        """compute(day), remembered per (key, day): a day's measurement never changes because
        windows end on that day and the history is fixed once built."""
        slot = (*key, day)
        if slot not in self._memo:
            self._memo[slot] = compute(day)
        return self._memo[slot]

    def keys(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Route segment keys and metres of one item, as arrays (cached)."""
        if index not in self._keys:
            route = self.items[index].metrics.route
            self._keys[index] = (
                np.asarray(route.segment_keys, dtype=np.int64),
                np.asarray(route.segment_m, dtype=float),
            )
        return self._keys[index]


def meaningful(metres: float | None) -> float:
    """Distances under a metre are no distance (keeps every ratio's denominator sane)."""
    value = float(metres or 0.0)
    return value if np.isfinite(value) and value >= 1.0 else 0.0


def is_road(m: ActivityMetrics) -> bool:
    """Outdoor GPS runs on roads: not a track session, and not a trail run (camber is a road's)."""
    off_road = m.route.shape == "track" or m.sub_sport == "trail"
    return m.route.has_gps and not (m.indoor or m.manual or off_road)


def ratio(numerator: float, denominator: float) -> float | None:
    """A finite ratio, or None when the denominator is not positive."""
    if not denominator > 0 or not np.isfinite(numerator) or not np.isfinite(denominator):
        return None
    return float(numerator) / float(denominator)


def km(metres: float) -> str:
    return f"{metres / 1000.0:.1f} km"
