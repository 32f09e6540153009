"""Derived copies of a recorded run, for calibrating descent on more than the few real pairs.

A barometric FIT file is turned into what the same run looks like when it reaches us another way,
so the engine can be checked against the watch's own total on every such file, not only on the
runs that happen to exist in two formats in ../shared/data:

* `stream_copy`: Strava activity streams in the API's `key_by_type=true` shape (`time`,
  `distance`, `latlng`, `altitude`, each `{"data", "series_type", "original_size",
  "resolution"}`; apis.md "Streams"). Strava keeps a recognised barometric device's altitude as
  recorded (science.md §2.3; the real streams in shared/data equal their FIT's altitude sample
  for sample), so the copy carries the FIT's altitude. `points` downsamples along distance the way
  the API's resolutions do: about 10,000 points ("high"), 1,000 ("medium", e.g.
  gostrava__activity_streams_ride_103221154.json: 999 of 2,829, evenly spaced in distance) and
  100 ("low").
* `gpx_copy`: a Garmin Connect GPX export (creator "Garmin Connect", no device name; trkpts with
  lat, lon, ele and time, only where the watch had a position), as sportslib__6782987395.gpx is;
  with `creator="StravaGPX"`, Strava's export of the same run (msimms__20170308_intra_run_club.gpx:
  creator "StravaGPX", no type, no device name, no totals).

Copies are labelled "derived" wherever they are reported; they never stand in for real pairs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import gpxpy.gpx
import numpy as np

from workers.parsing import Track

RESOLUTIONS = {"high": 10_000, "medium": 1_000, "low": 100}


def downsample(distance: np.ndarray, points: int) -> np.ndarray:
    """Indices of the samples nearest to `points` evenly spaced distances (all when fewer)."""
    if distance.size <= points:
        return np.arange(distance.size)
    targets = np.linspace(distance[0], distance[-1], points)
    idx = np.clip(np.searchsorted(distance, targets), 0, distance.size - 1)
    return np.unique(idx)


def stream_copy(track: Track, resolution: str = "high") -> dict:
    """The run as Strava's streams endpoint returns it (key_by_type=true)."""
    keep = np.isfinite(track.timestamps) & np.isfinite(track.distance) & np.isfinite(track.altitude)
    dist = np.maximum.accumulate(track.distance[keep])
    idx = downsample(dist, RESOLUTIONS[resolution])
    t0 = track.timestamps[keep][0]
    data = {
        "time": [int(round(v - t0)) for v in track.timestamps[keep][idx]],
        "distance": [round(float(v), 1) for v in dist[idx]],
        "altitude": [round(float(v), 1) for v in track.altitude[keep][idx]],
    }
    lat, lon = _positions(track, keep, idx)
    if lat is not None:
        data["latlng"] = [[round(float(a), 6), round(float(b), 6)] for a, b in zip(lat, lon,
                                                                                   strict=True)]
    size = int(keep.sum())
    return {k: {"data": v, "series_type": "distance", "original_size": size,
                "resolution": resolution} for k, v in data.items()}


def _positions(track: Track, keep: np.ndarray, idx: np.ndarray):
    """(lat, lon) for the kept samples when every one has a position, else (None, None)."""
    if track.lat.size != keep.size:
        return None, None
    lat, lon = track.lat[keep][idx], track.lon[keep][idx]
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        return None, None
    return lat, lon


def stream_summary(track: Track, device_name: str | None) -> dict:
    """The parts of Strava's DetailedActivity the stream parser reads."""
    summary = {"type": "Run", "start_date": track.start_time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {**summary, "device_name": device_name} if device_name else summary


def gpx_copy(track: Track, creator: str = "Garmin Connect") -> bytes | None:
    """The run as a Garmin Connect (or Strava: creator "StravaGPX") GPX export, or None without
    positions and altitude."""
    if track.lat.size != track.timestamps.size:
        return None
    ok = (np.isfinite(track.lat) & np.isfinite(track.lon) & np.isfinite(track.altitude)
          & np.isfinite(track.timestamps))
    if ok.sum() < 10:
        return None
    gpx = gpxpy.gpx.GPX()
    gpx.creator = creator
    trk = gpxpy.gpx.GPXTrack(name="Derived copy")
    trk.type = None if creator == "StravaGPX" else "running"
    seg = gpxpy.gpx.GPXTrackSegment()
    for la, lo, alt, ts in zip(track.lat[ok], track.lon[ok], track.altitude[ok],
                               track.timestamps[ok], strict=True):
        seg.points.append(gpxpy.gpx.GPXTrackPoint(
            float(la), float(lo), elevation=round(float(alt), 1),
            time=datetime.fromtimestamp(float(ts), UTC)))
    trk.segments.append(seg)
    gpx.tracks.append(trk)
    return gpx.to_xml(version="1.1").encode()
