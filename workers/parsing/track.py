"""The one representation of a run that everything downstream reads.

Parsers (FIT, GPX, Strava streams, archives) produce `Track`s; the analysis package consumes them.
Arrays are plain numpy float64 of equal length (one entry per record); a missing value is NaN, never
None, so analysis can stay vectorised. Timestamps are POSIX seconds (UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

# Sub-sports (FIT names, lower case) and Strava types that mean "no real terrain under the feet".
INDOOR_SUB_SPORTS = frozenset({"treadmill", "indoor_running", "indoor", "virtual_activity", "virtual"})
RUNNING_SPORTS = frozenset({"running"})
# "strava": Strava's altitude for a device without a barometer, corrected by Strava against its
# own elevation data: neither raw GPS altitude nor a barometer.
ALTITUDE_SOURCES = ("barometric", "strava", "gps", "none")
# Strava `workout_type` 1 = race (runs); names runners and apps give races.
STRAVA_RACE_WORKOUT = 1
_RACE_NAME = re.compile(
    r"\b(race|racing|parkrun|marathon|half ?marathon|halbmarathon|wettkampf|carrera|gara)\b",
    re.IGNORECASE)


def is_race(name: object, workout_type: object = None) -> bool:
    """A race by the provider's workout type (Strava 1) or by a race-like activity name."""
    if workout_type == STRAVA_RACE_WORKOUT or str(workout_type).lower() == "race":
        return True
    return isinstance(name, str) and bool(_RACE_NAME.search(name))


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """What the file itself says about the whole activity (device-computed); any may be None."""

    distance_m: float | None = None
    ascent_m: float | None = None
    descent_m: float | None = None
    elapsed_s: float | None = None
    timer_s: float | None = None


@dataclass(frozen=True, slots=True)
class Lap:
    start_time: float  # POSIX seconds
    elapsed_s: float | None = None
    distance_m: float | None = None


@dataclass(slots=True)
class Track:
    """One activity (or one leg of a multisport file)."""

    start_time: datetime  # timezone-aware UTC
    sport: str | None = None  # normalised lower case: "running", "cycling", "walking", "hiking", …
    sub_sport: str | None = None  # "trail", "track", "treadmill", "street", … or None
    device: str | None = None  # e.g. "garmin fenix 6", "coros pace 2"
    timestamps: np.ndarray = field(default_factory=lambda: np.empty(0))
    distance: np.ndarray = field(default_factory=lambda: np.empty(0))  # cumulative metres
    lat: np.ndarray = field(default_factory=lambda: np.empty(0))  # degrees
    lon: np.ndarray = field(default_factory=lambda: np.empty(0))  # degrees
    altitude: np.ndarray = field(default_factory=lambda: np.empty(0))  # metres
    altitude_source: str = "none"  # one of ALTITUDE_SOURCES
    speed: np.ndarray = field(default_factory=lambda: np.empty(0))  # m/s
    cadence: np.ndarray = field(default_factory=lambda: np.empty(0))  # steps/min (both legs)
    heart_rate: np.ndarray = field(default_factory=lambda: np.empty(0))  # bpm
    stance_time_balance: np.ndarray = field(default_factory=lambda: np.empty(0))  # % left
    totals: SessionTotals = field(default_factory=SessionTotals)
    laps: list[Lap] = field(default_factory=list)
    pauses: list[tuple[float, float]] = field(default_factory=list)  # (stop, start) POSIX seconds
    manual: bool = False  # entered by hand: distance counts, terrain does not
    gear_id: str | None = None
    name: str | None = None
    source_file: str | None = None  # the input file, "archive.zip!member" for archive members
    # Local time minus UTC at the start (seconds), when the source says: FIT local_timestamp,
    # Strava start_date_local, Garmin startTimeOffsetInSeconds. None: use the athlete's setting.
    utc_offset_s: int | None = None
    race: bool = False  # FIT/Strava workout type "race", or a race-like activity name
    # Summary values for tracks without records (manual entries, Strava/Garmin summaries).
    summary_distance_m: float | None = None
    summary_moving_time_s: float | None = None
    # What the run was read from: "fit", "gpx", "streams" (Strava API), None for a summary
    # without samples. Of two copies of one run, the richer format is kept (FORMAT_RANK).
    format: str | None = None
    # Strava streams' `resolution` ("low" ~100 points, "medium" ~1,000, "high" ~10,000) and
    # `original_size`: a downsampled profile is read as sparse (no spike filter across samples
    # 100 m apart; workers/analysis/elevation.py). None: every recorded sample.
    resolution: str | None = None
    original_size: int | None = None

    def __post_init__(self) -> None:
        if self.start_time.tzinfo is None:
            self.start_time = self.start_time.replace(tzinfo=UTC)

    @property
    def is_run(self) -> bool:
        return self.sport in RUNNING_SPORTS

    @property
    def indoor(self) -> bool:
        return (self.sub_sport or "") in INDOOR_SUB_SPORTS

    @property
    def has_gps(self) -> bool:
        return self.lat.size > 0 and bool(np.isfinite(self.lat).sum() >= 2)

    @property
    def distance_m(self) -> float:
        """Best distance: the record stream's last value, else the file's totals, else the summary."""
        finite = self.distance[np.isfinite(self.distance)] if self.distance.size else self.distance
        if finite.size:
            return float(finite.max())
        if self.totals.distance_m is not None:
            return float(self.totals.distance_m)
        return float(self.summary_distance_m or 0.0)

    @property
    def moving_time_s(self) -> float:
        if self.summary_moving_time_s is not None:
            return float(self.summary_moving_time_s)
        if self.totals.timer_s is not None:
            return float(self.totals.timer_s)
        timed = self.timestamps[np.isfinite(self.timestamps)]  # a GPX point may lack <time>
        if timed.size >= 2:
            paused = sum(max(0.0, b - a) for a, b in self.pauses)
            return float(timed[-1] - timed[0] - paused)
        return 0.0


class InvalidFile(ValueError):
    """A file we refuse: corrupt, hostile, too big, or not an activity. The message is for users."""

    def __init__(self, message: str, code: str = "invalid_file") -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Skip:
    """A file (or archive member) that was not turned into a Track, and why."""

    file: str
    reason: str


@dataclass(slots=True)
class ParsedFile:
    """Everything one input produced: tracks (all sports; callers filter runs) and skips."""

    file: str
    tracks: list[Track] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    raw_sha256: str | None = None
