"""Real files from <repo>/../shared/data, parsed once per session (fitparse is slow)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from workers.parsing.fit import parse_fit
from workers.parsing.gpx import parse_gpx
from workers.parsing.track import Track

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ACTIVITIES = DATA / "activities"
FIT_FILES = sorted((ACTIVITIES / "fit").glob("*.fit"))
GPX_FILES = sorted((ACTIVITIES / "gpx").glob("*.gpx"))
INVALID_FIT = sorted((ACTIVITIES / "fit-invalid").glob("*.fit"))
INVALID_GPX = sorted((ACTIVITIES / "gpx-invalid").glob("*.gpx"))

# From MANIFEST.md: every FIT not listed here is a single-session run.
NON_RUNNING_FIT = {
    "fitparse__garmin-fenix-5-walk.fit": "walking",
    "workoutizer__hike_with_coordinates_muggenbrunn.fit": "walking",
    "fitparse__Edge810-Vector-2013-08-16-15-35-10.fit": "cycling",
    "fitparse__2019-02-17-062644-ELEMNT-297E-195-0.fit": "cycling",
    "fitparse__coros-pace-2-cycling-misaligned-fields.fit": "cycling",
    "msimms__20210218_zwift_bike_race.fit": "cycling",
    "fitparse__event_timestamp.fit": "swimming",
    "fitparse__20170518-191602-1740899583.fit": "fitness_equipment",
}
MULTISPORT_FIT = "fitparse__sample_mulitple_header.fit"


@cache
def fit_tracks(name: str) -> tuple[Track, ...]:
    return tuple(parse_fit((ACTIVITIES / "fit" / name).read_bytes()))


@cache
def gpx_track(name: str) -> Track:
    return parse_gpx((ACTIVITIES / "gpx" / name).read_bytes())


@pytest.fixture(scope="session")
def data() -> Path:
    assert DATA.is_dir(), f"test data not found at {DATA}"
    return DATA


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]
