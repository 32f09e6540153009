"""The CPU half of `kneeguard import`, run in a pool of processes: bytes → Tracks → metrics.

Pure (no database, no queue): it takes one file's bytes and returns plain, picklable dicts, so
a pool worker never holds more than the one Track it is measuring. `light` asks for the light
FIT pass (records skimmed for time and distance only); a run that turns out to start on or
after `full_from` (POSIX seconds) is decoded again in full, so a wrong date in activities.csv
never costs a recent run its terrain.
"""

from __future__ import annotations

import json
import math
from typing import Any

from workers.parsing.archives import Member, parse_member
from workers.parsing.track import ParsedFile, Track


def parse_unit(label: str, data: bytes, row: dict | None, light: bool,
               full_from: float | None) -> dict:
    member = Member(label, data, row)
    parsed = parse_member(member, light=light)
    if light and (full_from is None or any(
            t.start_time.timestamp() >= full_from for t in parsed.tracks)):
        parsed, light = parse_member(member), False
    return measure(parsed, label, light)


def measure(parsed: ParsedFile, label: str, light: bool) -> dict:
    from workers.analysis import compute_metrics

    out: dict[str, Any] = {"label": label, "sha256": parsed.raw_sha256, "light": light, "tracks": [],
           "skipped": [{"file": k.file, "reason": k.reason} for k in parsed.skipped]}
    for track in parsed.tracks:
        name = track.source_file or label
        try:
            metrics = compute_metrics(track).to_dict()
            # Which copy of the run this is (service.domain.same_run keeps the richest one).
            metrics["copy"] = {"format": track.format, "samples": int(track.timestamps.size)}
            reason = _unstorable(track, metrics)
        except Exception as exc:  # one odd file must not stop an import
            reason = f"could not be measured: {type(exc).__name__}: {exc}"
        if reason:
            out["skipped"].append({"file": name, "reason": reason})
        else:
            out["tracks"].append(_fields(track, metrics, name))
    return out


def _unstorable(track: Track, metrics: dict) -> str | None:
    """NaN or infinity must never reach the database (PostgreSQL refuses NaN in JSON)."""
    if not (math.isfinite(track.distance_m) and math.isfinite(track.moving_time_s)):
        return "no usable distance or moving time in the file"
    try:
        json.dumps(metrics, allow_nan=False)
    except ValueError:
        return "measurements are not finite numbers (NaN) for this file"
    return None


def _fields(track: Track, metrics: dict, label: str) -> dict:
    return {
        "label": label, "name": track.name, "start_time": track.start_time,
        "sport": track.sport, "sub_sport": track.sub_sport, "distance_m": track.distance_m,
        "moving_time_s": track.moving_time_s, "indoor": track.indoor, "manual": track.manual,
        "gear_id": track.gear_id, "metrics": metrics,
        "loss_m": metrics["elevation"]["loss_m"],
    }
