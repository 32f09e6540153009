"""FIT bytes -> list[Track] (one per session; multisport files become legs).

Speed matters here because fitparse is pure Python: the file is decoded once, every message is
looked at once, record values are kept as the dicts fitparse builds anyway, and numpy arrays are
made once per column at the end. Two changes to fitparse itself (both subclasses, no patching):

* a leaner data processor: fitparse's default one formats three method names per field and raises
  and catches an AttributeError for nearly every field; ours caches the lookup and only converts
  date_time fields (straight to POSIX seconds, which is what Track wants anyway). This makes our
  parse *faster* than bare fitparse, which pays for the rest of the work.
* a misaligned field size (COROS PACE 2 writes a 1-byte uint32) is read as bytes instead of
  aborting the whole file, as fitparse master does; and decoded messages are not kept in memory.
"""

from __future__ import annotations

import io
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fitparse
import numpy as np
from fitparse.processors import FitFileDataProcessor
from fitparse.records import (
    BASE_TYPE_BYTE,
    BASE_TYPES,
    DefinitionMessage,
    DevFieldDefinition,
    FieldDefinition,
    get_dev_type,
)

from workers.parsing.devices import GARMIN_PRODUCT_IDS, barometer_by_id, device_name, is_barometric
from workers.parsing.track import InvalidFile, Lap, SessionTotals, Track

MAX_FIT_BYTES = 25 * 1024 * 1024
MAX_FIT_SECONDS = 120.0  # wall-clock guard for callers without a job timeout (CLI)

FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z
_ABSOLUTE_MIN = 0x10000000  # FIT: smaller date_time values are relative (seconds since power-on)
_SEMICIRCLE = 180.0 / 2**31
# Sports whose FIT cadence counts one foot (strides/min): doubled to steps/min.
STEP_SPORTS = frozenset({"running", "walking", "hiking", "mountaineering"})
_TIMER_STOPS = frozenset({"stop", "stop_all", "stop_disable", "stop_disable_all"})
_KEPT = frozenset({"session", "lap", "event", "file_id", "device_info", "sport", "activity"})
_DEV_MESSAGES = frozenset({"developer_data_id", "field_description"})


class _Processor(FitFileDataProcessor):
    """Only the type conversions we need, looked up once per type name."""

    def __init__(self) -> None:
        self._type_cache: dict[str, Any] = {}

    def run_type_processor(self, field_data: Any) -> None:
        name = field_data.type.name
        proc = self._type_cache.get(name, False)
        if proc is False:
            proc = getattr(self, f"process_type_{name}", None)
            self._type_cache[name] = proc
        if proc is not None:
            proc(field_data)

    def run_field_processor(self, field_data: Any) -> None:
        return None  # fitparse's default defines no field processors

    def run_unit_processor(self, field_data: Any) -> None:
        return None  # nor unit processors

    def process_type_date_time(self, field_data: Any) -> None:
        value = field_data.value
        # isinstance also avoids fitparse's TypeError on tuple values from corrupt files.
        if isinstance(value, int) and value >= _ABSOLUTE_MIN:
            field_data.value = FIT_EPOCH + value
            field_data.units = None

    def process_type_local_date_time(self, field_data: Any) -> None:
        return None  # unused; fitparse would build a datetime for it


class _Discard(list):
    """fitparse keeps every decoded message in FitFile._messages; we read them once."""

    def append(self, item: object) -> None:
        return None


_RECORD = 20  # global message number of 'record'
_TIMESTAMP, _DISTANCE, _SPEED_DISTANCE = 253, 5, 8  # record field numbers
_UINT32_INVALID = 0xFFFFFFFF


@dataclass(slots=True)
class _Skim:
    """A record read in the light pass: only its time and distance (what totals need)."""

    def_mesg: DefinitionMessage
    values: dict
    type: str = "data"

    @property
    def mesg_type(self) -> Any:
        return self.def_mesg.mesg_type

    def get_values(self) -> dict:
        return self.values


def _crc_table() -> tuple[int, ...]:
    """FIT's CRC-16 (the SDK's nibble table, applied twice) as a 256-entry byte table."""
    return tuple(fitparse.records.Crc.calculate(bytes([b])) for b in range(256))


_CRC_TABLE = _crc_table()


_CRC_NP = np.array(_CRC_TABLE, dtype=np.uint16)
_CRC_LANES = 2048


def fit_crc(data: bytes | memoryview, crc: int = 0) -> int:
    """The FIT SDK's CRC (fitparse computes it per read, two nibble lookups per byte in Python).

    The CRC is linear with a zero start, so a file is cut into 2,048 equal chunks whose CRCs numpy
    computes side by side; they are then joined in order (crc(A+B) = crc(A) advanced over len(B)
    zero bytes, xor crc(B)), and the tail is added byte by byte: ~1 ms instead of ~30 ms for 150 kB."""
    size = len(data)
    step = size // _CRC_LANES
    if crc or step < 16:
        return _crc_bytes(data, crc)
    block = np.frombuffer(data, dtype=np.uint8, count=step * _CRC_LANES)
    lanes = np.ascontiguousarray(block.reshape(_CRC_LANES, step).T).astype(np.uint16)
    state = np.zeros(_CRC_LANES, dtype=np.uint16)
    for column in lanes:
        state = (state >> 8) ^ _CRC_NP[(state ^ column) & 0xFF]
    low, high = _advance_tables(step)
    joined = 0
    for part in state.tolist():
        joined = low[joined & 0xFF] ^ high[joined >> 8] ^ part
    return _crc_bytes(memoryview(data)[step * _CRC_LANES:], joined)


def _advance_tables(zeros: int) -> tuple[list[int], list[int]]:
    """A CRC state advanced over `zeros` zero bytes, split by its low and high byte."""
    state = np.concatenate([np.arange(256), np.arange(256) << 8]).astype(np.uint16)
    for _ in range(zeros):
        state = (state >> 8) ^ _CRC_NP[state & 0xFF]
    values = state.tolist()
    return values[:256], values[256:]


def _crc_bytes(data: bytes | memoryview, crc: int) -> int:
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


class _FitFile(fitparse.FitFile):
    def __init__(self, data: bytes, light: bool = False) -> None:
        self._data = data
        self._crc_from = 0
        super().__init__(io.BytesIO(data), check_crc=True, data_processor=_Processor())
        self._messages = _Discard()
        self._light = light
        self._layouts: dict[int, tuple] = {}

    # The CRC was a third of the decode: fitparse updates it on every read, byte by byte in
    # Python. We compute it once over the checked span, when fitparse asks for the check.
    def _read(self, size: int) -> bytes | None:
        if size <= 0:
            return None
        data = self._file.read(size)
        if size != len(data):
            raise fitparse.utils.FitEOFError(
                f"Tried to read {size} bytes from .FIT file but got {len(data)}")
        self._bytes_left -= len(data)
        return data

    def _parse_file_header(self) -> None:
        self._crc_from = self._file.tell()
        super()._parse_file_header()

    def _read_and_assert_crc(self, allow_zero: bool = False) -> None:
        end = self._file.tell()
        computed = fit_crc(memoryview(self._data)[self._crc_from:end])
        read = self._read_struct("H")
        if computed == read or (allow_zero and read == 0):
            return
        raise fitparse.utils.FitCRCError(
            f"CRC Mismatch [computed: 0x{computed:04X}, read: 0x{read:04X}]")

    def _parse_data_message(self, header: Any) -> Any:
        # Messages we never read (hrv, monitoring, device settings …) are skipped with one read;
        # in the light pass records (nearly all of a file's bytes) are skimmed for time and
        # distance with one struct read each instead of fitparse's per-field objects.
        def_mesg = self._local_mesgs.get(header.local_mesg_num)
        if def_mesg is not None:
            layout = self._layout(header.local_mesg_num, def_mesg)
            if layout is not None:
                return self._skim(header, def_mesg, layout)
        return super()._parse_data_message(header)

    def _layout(self, local: int, def_mesg: DefinitionMessage) -> tuple | None:
        cached = self._layouts.get(local)
        if cached is None or cached[0] is not def_mesg:  # a local number can be redefined
            cached = (def_mesg, _layout(def_mesg, self._light))
            self._layouts[local] = cached
        return cached[1]

    def _skim(self, header: Any, def_mesg: DefinitionMessage, layout: tuple) -> _Skim:
        size, ts_at, dist_at = layout
        data = self._read(size) or b""
        fmt = def_mesg.endian + "I"
        ts = struct.unpack_from(fmt, data, ts_at)[0] if ts_at is not None else None
        if ts == _UINT32_INVALID:
            ts = None
        if ts is not None:  # as fitparse: a message's timestamp is the compressed-time base
            self._compressed_ts_accumulator = ts
        if header.time_offset is not None:
            ts = self._compressed_ts_accumulator = self._apply_compressed_accumulation(
                header.time_offset, self._compressed_ts_accumulator, 5)
        values: dict[str, float | int | None] = {}
        if def_mesg.mesg_num == _RECORD:
            values["timestamp"] = _time_value(ts)
            if dist_at is not None:
                raw = struct.unpack_from(fmt, data, dist_at)[0]
                values["distance"] = None if raw == _UINT32_INVALID else raw / 100.0
        return _Skim(def_mesg, values)

    def _parse_definition_message(self, header: Any) -> DefinitionMessage:
        # fitparse 1.2.0 body, except a field size that is not a multiple of its base type's
        # size is read as bytes (fitparse master does the same) instead of failing the file.
        endian = ">" if self._read_struct("xB") else "<"
        global_mesg_num, num_fields = self._read_struct("HB", endian=endian)
        mesg_type = fitparse.base.MESSAGE_TYPES.get(global_mesg_num)
        field_defs = []
        for _ in range(num_fields):
            def_num, size, base_num = self._read_struct("3B", endian=endian)
            fld = mesg_type.fields.get(def_num) if mesg_type else None
            base_type = BASE_TYPES.get(base_num, BASE_TYPE_BYTE)
            if size % base_type.size:
                base_type = BASE_TYPE_BYTE
            if fld and fld.components:
                for component in fld.components:
                    if component.accumulate:
                        self._accumulators.setdefault(global_mesg_num, {})[component.def_num] = 0
            field_defs.append(
                FieldDefinition(field=fld, def_num=def_num, base_type=base_type, size=size)
            )
        dev_field_defs = []
        if header.is_developer_data:
            for _ in range(self._read_struct("B", endian=endian)):
                def_num, size, dev_index = self._read_struct("3B", endian=endian)
                dev_field_defs.append(DevFieldDefinition(
                    field=get_dev_type(dev_index, def_num), dev_data_index=dev_index,
                    def_num=def_num, size=size,
                ))
        def_mesg = DefinitionMessage(
            header=header, endian=endian, mesg_type=mesg_type, mesg_num=global_mesg_num,
            field_defs=field_defs, dev_field_defs=dev_field_defs,
        )
        self._local_mesgs[header.local_mesg_num] = def_mesg
        return def_mesg


def _layout(def_mesg: DefinitionMessage, light: bool) -> tuple | None:
    """(size, timestamp offset, distance offset) for a message we skim, None for one fitparse
    decodes: what we keep, developer field descriptions, and (light pass) records whose
    distance exists only as an accumulated component."""
    mesg_type = def_mesg.mesg_type
    name = mesg_type.name if mesg_type is not None else None
    if name in _KEPT or name in _DEV_MESSAGES or (name == "record" and not light):
        return None
    offsets, at = {}, 0
    for fd in def_mesg.field_defs:
        offsets[fd.def_num] = (at, fd.size)
        at += fd.size
    at += sum(fd.size for fd in def_mesg.dev_field_defs)
    record = name == "record"
    if record and _DISTANCE not in offsets and _SPEED_DISTANCE in offsets:
        return None
    picked = []
    for num in (_TIMESTAMP, _DISTANCE) if record else (_TIMESTAMP,):
        where = offsets.get(num)
        if where is not None and where[1] != 4:
            return None  # an oddball size: let fitparse read it as it always has
        picked.append(where[0] if where else None)
    return (at, *picked, None) if not record else (at, *picked)


def _time_value(ts: int | None) -> int | None:
    """As _Processor.process_type_date_time: absolute times become POSIX seconds."""
    if ts is not None and ts >= _ABSOLUTE_MIN:
        return FIT_EPOCH + ts
    return ts


@dataclass(slots=True)
class _Raw:
    """Everything collected in the single pass over the file's messages."""

    records: list[dict] = field(default_factory=list)
    other: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in _KEPT})


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
    for count, msg in enumerate(_FitFile(data, light).get_messages()):
        mesg_type = msg.def_mesg.mesg_type
        name = mesg_type.name if mesg_type is not None else None
        if name == "record":
            records.append(msg.get_values())
        elif name in _KEPT:
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
        start = _posix(s.get("start_time"))
        if start is None and _posix(s.get("timestamp")) is not None:
            start = _posix(s["timestamp"]) - float(s.get("total_elapsed_time") or 0.0)
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
        return float(value) if value >= FIT_EPOCH + _ABSOLUTE_MIN else None
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
    ts[ts < FIT_EPOCH + _ABSOLUTE_MIN] = np.nan
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
