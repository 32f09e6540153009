"""FIT bytes -> list[Track] (one per session; multisport files become legs).

Speed matters here because fitparse is pure Python: the file is decoded once (`fit_decode.py`),
every message is looked at once, record values are kept as the dicts fitparse builds anyway, and
numpy arrays are made once per column at the end. This module turns those messages into Tracks:
sessions and legs, record columns, pauses, laps, the device and its altitude source, local time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from workers.parsing.devices import GARMIN_PRODUCT_IDS, barometer_by_id, device_name, is_barometric
from workers.parsing.fit_decode import ABSOLUTE_MIN, FIT_EPOCH, KEPT_MESSAGES, FitDecoder, fit_crc
from workers.parsing.track import InvalidFile, Lap, SessionTotals, Track

__all__ = ["MAX_FIT_BYTES", "altitude_source", "fit_crc", "parse_fit", "utc_offset"]

MAX_FIT_BYTES = 25 * 1024 * 1024
MAX_FIT_SECONDS = 120.0  # wall-clock guard for callers without a job timeout (CLI)

_SEMICIRCLE = 180.0 / 2**31
# Sports whose FIT cadence counts one foot (strides/min): doubled to steps/min.
STEP_SPORTS = frozenset({"running", "walking", "hiking", "mountaineering"})
_TIMER_STOPS = frozenset({"stop", "stop_all", "stop_disable", "stop_disable_all"})


@dataclass(slots=True)
class _Raw:
    """Everything collected in the single pass over the file's messages."""

    records: list[dict] = field(default_factory=list)
    other: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in KEPT_MESSAGES})


def parse_fit(data: bytes, light: bool = False) -> list[Track]:
    """Decode a FIT activity file. Raises InvalidFile for anything we cannot or will not read.

    `light=True` reads every message but records only for their time and distance: the Track
    has the same start, sport, device, totals, laps, distance and moving time, and no position,
    altitude, speed, cadence or heart rate (enough for the distance rules over old runs)."""
    if len(data) > MAX_FIT_BYTES:
        raise InvalidFile(f"FIT file larger than {MAX_FIT_BYTES // 2**20} MiB", "too_large")
    if len(data) < 14 or data[8:12] != b".FIT":
        raise InvalidFile("not a FIT file (no .FIT header)")
    try:
        return _build(_collect(data, light))
    except InvalidFile:
        raise
    except Exception as exc:  # fitparse raises FitParseError, but also bare TypeError etc.
        raise InvalidFile(f"corrupt FIT file: {exc}") from exc


def _collect(data: bytes, light: bool = False) -> _Raw:
    raw = _Raw()
    records, other = raw.records, raw.other
    deadline = time.monotonic() + MAX_FIT_SECONDS
    for count, msg in enumerate(FitDecoder(data, light).get_messages()):
        mesg_type = msg.def_mesg.mesg_type
        name = mesg_type.name if mesg_type is not None else None
        if name == "record":
            records.append(msg.get_values())
        elif name in KEPT_MESSAGES:
            other[name].append(msg.get_values())
        if not count & 0xFFF and time.monotonic() > deadline:
            raise InvalidFile("FIT file took too long to decode", "too_slow")
    return raw


def _build(raw: _Raw) -> list[Track]:
    file_ids = raw.other["file_id"]
    kind = file_ids[0].get("type") if file_ids else None
    if kind not in (None, "activity"):
        raise InvalidFile(f"FIT file is not an activity (file type {kind})", "not_activity")
    sessions = _sessions(raw)
    if not raw.records and not sessions:
        raise InvalidFile("FIT file has no activity records or sessions", "empty")
    columns = _columns(raw.records)
    device = _device(raw.other)
    offset = utc_offset(raw.other["activity"], raw.other["file_id"])
    starts = [s["_start"] for s in sessions]
    leg_of = np.searchsorted(np.asarray(starts[1:], float), columns["timestamp"], side="right")
    pauses = _pauses(raw.other["event"])
    tracks = []
    for index, session in enumerate(sessions):
        mask = leg_of == index
        leg = {k: v[mask] for k, v in columns.items()}
        first = int(np.argmax(mask)) if mask.any() else 0
        prior = columns["distance"][:first]
        leg["distance"] = _rebase_distance(leg["distance"], prior)
        track = _track(session, leg, device, starts, index, raw.other["lap"], pauses)
        track.utc_offset_s = offset
        track.altitude_source = altitude_source(raw.other, track)
        tracks.append(track)
    return tracks


def utc_offset(activities: list[dict], file_ids: list[dict]) -> int | None:
    """Local time minus UTC from the activity message (`local_timestamp` - `timestamp`), rounded
    to 15 minutes; None when absent or implausible (Zwift writes 0 for local_timestamp; COROS
    writes UTC there: its run in shared/data says +0 where the fenix 6 on the same wrist says -4 h)."""
    maker = (file_ids[:1] or [{}])[0].get("manufacturer")
    for entry in activities:
        utc, local = _posix(entry.get("timestamp")), entry.get("local_timestamp")
        if utc is None or not isinstance(local, int) or isinstance(local, bool):
            continue
        offset = round((FIT_EPOCH + local - utc) / 900.0) * 900
        if offset == 0 and maker in (294, "coros"):
            return None
        if abs(offset) <= 14 * 3600:
            return int(offset)
    return None


def altitude_source(other: dict[str, list[dict]], track: Track) -> str:
    """Barometric by FIT manufacturer + product id (devices.py table), else by device name."""
    if track.altitude_source == "none":
        return "none"
    creator = (other["file_id"][:1] or [{}])[0]
    verdict = barometer_by_id(creator.get("manufacturer"), creator.get("garmin_product")
                              or creator.get("product"), creator.get("product_name"))
    if verdict is None:
        return track.altitude_source
    return "barometric" if verdict else "gps"


def _sessions(raw: _Raw) -> list[dict]:
    """Session dicts sorted by start, each with '_start' (POSIX); one synthetic if none."""
    sessions = []
    for s in raw.other["session"]:
        start, end = _posix(s.get("start_time")), _posix(s.get("timestamp"))
        if start is None and end is not None:
            start = end - float(s.get("total_elapsed_time") or 0.0)
        if start is not None:
            sessions.append({**s, "_start": start})
    if sessions:
        return sorted(sessions, key=lambda s: s["_start"])
    first = next((t for r in raw.records if (t := _posix(r.get("timestamp"))) is not None), None)
    if first is None:
        return []
    sport = raw.other["sport"][0] if raw.other["sport"] else {}
    return [{"sport": sport.get("sport"), "sub_sport": sport.get("sub_sport"), "_start": first}]


def _posix(value: object) -> float | None:
    """Our processor turned absolute date_times into POSIX ints; anything else is unusable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value) if value >= FIT_EPOCH + ABSOLUTE_MIN else None
    return None


def _column(records: list[dict], key: str) -> np.ndarray:
    values = [r.get(key) for r in records]
    try:
        return np.array(values, dtype=float)
    except (TypeError, ValueError):  # a tuple or string from an oddball field: drop those values
        return np.array([v if isinstance(v, int | float) else np.nan for v in values], dtype=float)


def _columns(records: list[dict]) -> dict[str, np.ndarray]:
    """Record values as equal-length float arrays, time-ordered, records without time dropped."""
    ts = _column(records, "timestamp")
    ts[ts < FIT_EPOCH + ABSOLUTE_MIN] = np.nan
    keep = np.isfinite(ts)
    if not keep.all():
        records = [r for r, k in zip(records, keep, strict=True) if k]
        ts = ts[keep]
    cols = {"timestamp": ts}
    for key in ("distance", "heart_rate", "stance_time_balance", "cadence", "fractional_cadence"):
        cols[key] = _column(records, key)
    cols["speed"] = _prefer(_column(records, "enhanced_speed"), records, "speed")
    cols["altitude"] = _prefer(_column(records, "enhanced_altitude"), records, "altitude")
    for key, out in (("position_lat", "lat"), ("position_long", "lon")):
        deg = _column(records, key) * _SEMICIRCLE
        deg[np.abs(deg) > (90.0 if out == "lat" else 180.0)] = np.nan
        cols[out] = deg
    if ts.size > 1 and np.any(np.diff(ts) < 0):
        order = np.argsort(ts, kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
    return cols


def _prefer(primary: np.ndarray, records: list[dict], fallback: str) -> np.ndarray:
    return primary if np.isfinite(primary).any() else _column(records, fallback)


def _rebase_distance(leg: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Multisport files count distance across legs; a leg's distance should start near 0."""
    before = prior[np.isfinite(prior)]
    finite = leg[np.isfinite(leg)]
    if before.size and finite.size and finite[0] >= before[-1] - 1.0:
        return leg - before[-1]
    return leg


def _pauses(events: list[dict]) -> list[tuple[float, float]]:
    """(stop, restart) pairs from timer events; the final stop has no restart and is no pause."""
    pauses, stopped = [], None
    for event in sorted(events, key=lambda e: _posix(e.get("timestamp")) or 0.0):
        when = _posix(event.get("timestamp"))
        if event.get("event") != "timer" or when is None:
            continue
        kind = event.get("event_type")
        if kind in _TIMER_STOPS and stopped is None:
            stopped = when
        elif kind == "start" and stopped is not None:
            pauses.append((stopped, when))
            stopped = None
    return pauses


def _device(other: dict[str, list[dict]]) -> str | None:
    """Creator device name: a device_info 'creator' entry with a named product beats file_id."""
    candidates = [d for d in other["device_info"] if d.get("device_index") in ("creator", 0)]
    candidates += other["file_id"][:1]
    names = []
    for entry in candidates:
        product = entry.get("garmin_product") or entry.get("product_name") or entry.get("product")
        if isinstance(product, int):
            product = GARMIN_PRODUCT_IDS.get(product, f"product {product}")
        if entry.get("manufacturer") is not None:
            names.append((isinstance(product, str) and "product " not in product, entry, product))
    if not names:
        return None
    names.sort(key=lambda n: not n[0])
    return device_name(names[0][1].get("manufacturer"), names[0][2])


def _sport(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    return None if text == "generic" else text


def _track(session: dict, leg: dict[str, np.ndarray], device: str | None, starts: list[float],
           index: int, laps: list[dict], pauses: list[tuple[float, float]]) -> Track:
    start, end = starts[index], (starts[index + 1] if index + 1 < len(starts) else np.inf)
    lower = start if index else -np.inf  # laps/pauses before the first session belong to it
    sport = _sport(session.get("sport"))
    cadence = leg["cadence"] + np.nan_to_num(leg["fractional_cadence"])
    if sport in STEP_SPORTS:
        cadence = cadence * 2.0
    has_alt = bool(np.isfinite(leg["altitude"]).any())
    return Track(
        format="fit",
        start_time=datetime.fromtimestamp(start, tz=UTC),
        sport=sport, sub_sport=_sport(session.get("sub_sport")), device=device,
        timestamps=leg["timestamp"], distance=leg["distance"], lat=leg["lat"], lon=leg["lon"],
        altitude=leg["altitude"],
        altitude_source=("barometric" if is_barometric(device) else "gps") if has_alt else "none",
        speed=leg["speed"], cadence=cadence, heart_rate=leg["heart_rate"],
        stance_time_balance=leg["stance_time_balance"],
        totals=SessionTotals(
            distance_m=_num(session.get("total_distance")),
            ascent_m=_num(session.get("total_ascent")),
            descent_m=_num(session.get("total_descent")),
            elapsed_s=_num(session.get("total_elapsed_time")),
            timer_s=_num(session.get("total_timer_time")),
        ),
        laps=[lap for lap in map(_lap, laps) if lap and lower <= lap.start_time < end],
        pauses=[p for p in pauses if lower <= p[0] < end],
    )


def _lap(lap: dict) -> Lap | None:
    start = _posix(lap.get("start_time"))
    if start is None:
        return None
    return Lap(start, _num(lap.get("total_elapsed_time")), _num(lap.get("total_distance")))


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None
