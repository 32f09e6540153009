"""A runner's realistic bad week, as real GPX files (gpxpy), and how they reach the service.

Five ordinary weeks (Tue 10 km, Thu 10 km, Sat 8 km, Sun 13 km: 41 km and about 100 m of descent a
week), then a week with a long run on Tuesday (22 km, 1.7x the month's longest: a spike) and a
mountain race on Sunday (25 km, 1,600 m down: a weekly jump, a weekly descent and a novel descent
in one upload). Days are local (the GPX files carry no offset: UTC is the runner's time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import gpxpy.gpx

from tests.helpers import settle

BASE_WEEKS = 5
ORDINARY = ((1, 10.0), (3, 10.0), (5, 8.0), (6, 13.0))  # (weekday, km): Tue, Thu, Sat, Sun
BAD = {"mon": (0, 8.0, 20.0), "tue_long": (1, 22.0, 20.0), "thu": (3, 10.0, 20.0),
       "sat": (5, 10.0, 20.0), "sun_race": (6, 25.0, 1600.0)}


@dataclass(frozen=True)
class Run:
    label: str
    day: date
    km: float
    climb_m: float

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time(7, 0), tzinfo=UTC)

    def gpx(self) -> bytes:
        return gpx_run(self.start, self.km, self.climb_m, self.label)


def bad_monday(today: date | None = None) -> date:
    """The Monday of the bad week: the last full week before today (its runs are recent)."""
    today = today or datetime.now(UTC).date()
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7)


def ordinary_weeks(monday: date) -> list[Run]:
    runs = []
    for week in range(BASE_WEEKS, 0, -1):
        start = monday - timedelta(days=7 * week)
        runs += [Run(f"w-{week}-d{wd}", start + timedelta(days=wd), km, 20.0)
                 for wd, km in ORDINARY]
    return runs


def bad_week(monday: date) -> dict[str, Run]:
    return {name: Run(name, monday + timedelta(days=wd), km, climb)
            for name, (wd, km, climb) in BAD.items()}


def gpx_run(start: datetime, km: float, climb_m: float, name: str) -> bytes:
    """Out and back, up `climb_m` on the way out and down on the way back, a point every 10 m at
    5:30 min/km, with small undulations (a real profile is never a straight ramp)."""
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack(name=name)
    track.type = "running"
    seg = gpxpy.gpx.GPXTrackSegment()
    n, half = int(km * 100), km * 500.0
    for i in range(n + 1):
        d = km * 1000.0 * i / n
        along = d if d <= half else km * 1000.0 - d
        seg.points.append(gpxpy.gpx.GPXTrackPoint(
            latitude=46.05 + along / 111_320.0, longitude=14.5 + 0.0005 * math.sin(d / 300.0),
            elevation=300.0 + climb_m * along / half + 3.0 * math.sin(d / 50.0),
            time=start + timedelta(seconds=d * 0.33)))
    track.segments.append(seg)
    gpx.tracks.append(track)
    return gpx.to_xml().encode()


def upload(client, runtime, athlete_id: str, auth: dict, run: Run) -> str:
    """One file through the real API, then the worker (and the sweeper, which re-analyses the
    later days a late file changes), as when a watch syncs one run."""
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename={run.label}.gpx",
                    data=run.gpx(), headers=auth, content_type="application/octet-stream")
    assert r.status_code == 202, r.get_json()
    created = r.get_json()["activities"]
    assert len(created) == 1, r.get_json()
    settle(runtime)
    return created[0]["id"]

