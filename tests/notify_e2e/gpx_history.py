"""Write a runner's history as real GPX files (gpxpy), so the CLI imports real files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy.gpx


def write_run(path: Path, start: datetime, km: float) -> Path:
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack(name=f"{km} km run")
    track.type = "running"
    seg = gpxpy.gpx.GPXTrackSegment()
    n = int(km * 100)  # a point every 10 m, out and back, 330 s/km
    for i in range(n + 1):
        d = km * 1000.0 * i / n
        along = d if d <= km * 500 else km * 1000 - d
        seg.points.append(gpxpy.gpx.GPXTrackPoint(
            latitude=46.05 + along / 111_320.0, longitude=14.5, elevation=300.0,
            time=start + timedelta(seconds=d * 0.33)))
    track.segments.append(seg)
    gpx.tracks.append(track)
    path.write_text(gpx.to_xml())
    return path


def spike_folder(folder: Path) -> Path:
    """Fifteen 10 km runs over 30 days, then an 18 km run."""
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    for day in range(0, 30, 2):
        write_run(folder / f"run-{day:02d}.gpx", start + timedelta(days=day), 10.0)
    write_run(folder / "run-31.gpx", start + timedelta(days=31), 18.0)
    return folder
