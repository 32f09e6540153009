"""Elevation loss: ours vs the device's session.total_descent vs gpxpy on the same points.

For every running FIT in ../shared/data whose device reports total_descent. Targets on barometric
devices (issue 4): median error <= 5%, each within max(25%, 15 m), and better than gpxpy. Issue 11
adds a per-source table: barometric FIT, GPS FIT, and the paired recordings (the same run as GPX or
Strava streams vs the FIT device's total), for the figure the rules use and the engine's own.

    python bench/elevation.py [--quick] [--data PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gpxpy.gpx
import numpy as np

from service.infra.corpus import SHARED_DATA
from testkit.corpus import real_runs
from workers.analysis import compute_metrics


def gpxpy_loss(track) -> float:
    """gpxpy's get_uphill_downhill() on the same (lat, lon, altitude) records."""
    segment = gpxpy.gpx.GPXTrackSegment()
    ok = np.isfinite(track.altitude)
    lat = np.nan_to_num(track.lat, nan=0.0) if track.lat.size == ok.size else np.zeros(ok.size)
    lon = np.nan_to_num(track.lon, nan=0.0) if track.lon.size == ok.size else np.zeros(ok.size)
    for la, lo, alt in zip(lat[ok], lon[ok], track.altitude[ok], strict=True):
        segment.points.append(gpxpy.gpx.GPXTrackPoint(float(la), float(lo), elevation=float(alt)))
    return float(segment.get_uphill_downhill().downhill or 0.0)


def rows(data: Path, quick: bool) -> list[dict]:
    out = []
    for name, track in real_runs(data, quick, kinds=("fit",)):
        if track.totals.descent_m is None or track.altitude_source == "none":
            continue
        m = compute_metrics(track)
        out.append({"file": name, "device": track.device or "?",
                    "source": track.altitude_source, "device_m": float(track.totals.descent_m),
                    "ours_m": m.elevation.engine_loss_m or 0.0, "reported_m": m.elevation.loss_m,
                    "gpxpy_m": gpxpy_loss(track)})
    return out


def error(value: float, device: float) -> tuple[float, float]:
    """(absolute metres, relative to the device's figure; 1 m floor so 0 m is comparable)."""
    gap = abs(value - device)
    return gap, gap / max(device, 1.0)


def summary(label: str, group: list[dict]) -> None:
    if not group:
        return
    ours = np.array([error(r["ours_m"], r["device_m"]) for r in group])
    theirs = np.array([error(r["gpxpy_m"], r["device_m"]) for r in group])
    within = sum(1 for r, (gap, _) in zip(group, ours, strict=True)
                 if gap <= max(0.25 * r["device_m"], 15.0))
    print(f"\n{label}: {len(group)} files")
    for name, errs in (("ours ", ours), ("gpxpy", theirs)):
        worst = int(errs[:, 0].argmax())
        print(f"  {name} median {np.median(errs[:, 1]) * 100:5.1f}% ({np.median(errs[:, 0]):5.1f} m)"
              f"   worst {errs[:, 1].max() * 100:6.1f}% / {errs[:, 0].max():6.1f} m"
              f" ({group[worst]['file']})")
    print(f"  ours within max(25%, 15 m): {within}/{len(group)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small files only (CI)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    args = parser.parse_args(argv)
    table = rows(args.data, args.quick)
    print(f"{'file':<48} {'device':<16} {'alt':<10} {'device':>7} {'ours':>7} {'err':>6}"
          f" {'gpxpy':>7} {'err':>6}")
    for r in table:
        print(f"{r['file'][:48]:<48} {r['device'][:16]:<16} {r['source']:<10} {r['device_m']:7.0f}"
              f" {r['ours_m']:7.1f} {r['ours_m'] - r['device_m']:+6.1f}"
              f" {r['gpxpy_m']:7.1f} {r['gpxpy_m'] - r['device_m']:+6.1f}")
    summary("barometric", [r for r in table if r["source"] == "barometric"])
    summary("gps altitude", [r for r in table if r["source"] == "gps"])
    per_source(args.data, table)
    return 0


# Paired recordings: the same run as a FIT with the device's total and as GPX / Strava streams.
PAIRS = (
    ("gpx", "activities/gpx/sportslib__6782987395.gpx", "activities/fit/sportslib__6782987395.fit"),
    ("streams", "strava-api/sportslib__streams_run_2451375851.json",
     "activities/fit/sportslib__6782987395.fit"),
    ("streams", "strava-api/sportslib__streams_run_3156040843.json",
     "activities/fit/sportslib__6909950168.fit"),
    ("streams", "strava-api/sportslib__streams_run_3182900697.json",
     "activities/fit/sportslib__6909950168.fit"),
    ("streams", "strava-api/sportslib__streams_run_3183490558.json",
     "activities/fit/sportslib__6916728382.fit"),
)


def paired_rows(data: Path) -> list[dict]:
    """Engine loss on the GPX / streams copy vs the device total of the FIT of the same run."""
    import json

    from workers.parsing import parse_bytes, parse_strava_streams

    out = []
    for kind, copy, fit in PAIRS:
        device = parse_bytes((data / fit).read_bytes(), fit).tracks[0].totals.descent_m
        raw = (data / copy).read_bytes()
        track = (parse_bytes(raw, copy).tracks[0] if kind == "gpx"
                 else parse_strava_streams(json.loads(raw), {"type": "Run"}))
        if device is None:
            continue
        loss = compute_metrics(track).elevation.loss_m
        out.append({"file": Path(copy).name, "source": kind, "device_m": float(device),
                    "ours_m": loss, "reported_m": loss})
    return out


def per_source(data: Path, table: list[dict]) -> None:
    """Median and worst error per source (barometric FIT, GPS FIT, GPX, Strava streams) of the
    figure the rules use (for barometric FIT: the device's total when plausible) and of the
    engine's own; plus how many land within max(10%, 5 m) (a 3 m flat run cannot be within 10%)."""
    groups = {"barometric FIT": [r for r in table if r["source"] == "barometric"],
              "GPS FIT": [r for r in table if r["source"] == "gps"]}
    paired = paired_rows(data)
    groups["GPX (paired)"] = [r for r in paired if r["source"] == "gpx"]
    groups["Strava streams (paired)"] = [r for r in paired if r["source"] == "streams"]
    print(f"\n{'source':<24} {'n':>3} {'reported median':>16} {'worst':>8} "
          f"{'engine median':>14} {'worst':>8} {'within max(10%,5m)':>19}")
    for label, rows_ in groups.items():
        if not rows_:
            print(f"{label:<24} {0:>3}")
            continue
        rep = np.array([error(r["reported_m"], r["device_m"])[1] for r in rows_]) * 100
        eng = np.array([error(r["ours_m"], r["device_m"])[1] for r in rows_]) * 100
        close = sum(abs(r["reported_m"] - r["device_m"]) <= max(0.1 * r["device_m"], 5.0)
                    for r in rows_)
        print(f"{label:<24} {len(rows_):>3} {np.median(rep):15.1f}% {rep.max():7.1f}% "
              f"{np.median(eng):13.1f}% {eng.max():7.1f}% {close:>16}/{len(rows_)}")


if __name__ == "__main__":
    raise SystemExit(main())
