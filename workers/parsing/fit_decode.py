"""fitparse, made fast: FIT bytes -> decoded messages, each looked at once.

fitparse is pure Python, so `parse_fit` (fit.py) decodes a file once through `FitDecoder`, two
subclasses of fitparse's own classes (no patching):

* a leaner data processor: fitparse's default one formats three method names per field and raises
  and catches an AttributeError for nearly every field; ours caches the lookup and only converts
  date_time fields (straight to POSIX seconds, which is what Track wants anyway). This makes our
  parse *faster* than bare fitparse, which pays for the rest of the work.
* a misaligned field size (COROS PACE 2 writes a 1-byte uint32) is read as bytes instead of
  aborting the whole file, as fitparse master does; and decoded messages are not kept in memory.

Developer field types are kept per file (`FitDecoder._dev_types`): fitparse keeps them in one
module-level dict shared by every file decoded in the process, so two files with developer fields
decoded at once (request threads of a web process) read each other's types and valid files were
refused (tests/parsing/test_fit_threads.py). fitparse still writes its dict; nothing here reads it.

Plus the CRC computed once with numpy, messages we never read skipped with one read, and (light
pass) records skimmed for time and distance only. tests/parsing/test_fit_speed.py checks each
shortcut against plain fitparse on every shared file.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import fitparse
import numpy as np
from fitparse.processors import FitFileDataProcessor
from fitparse.records import (
    BASE_TYPE_BYTE,
    BASE_TYPES,
    DefinitionMessage,
    DevField,
    DevFieldDefinition,
    FieldDefinition,
)

FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z
ABSOLUTE_MIN = 0x10000000  # FIT: smaller date_time values are relative (seconds since power-on)
# Messages parse_fit reads besides records; fitparse decodes these (and records) in full.
KEPT_MESSAGES = frozenset({"session", "lap", "event", "file_id", "device_info", "sport",
                           "activity"})
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
        if isinstance(value, int) and value >= ABSOLUTE_MIN:
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


class FitDecoder(fitparse.FitFile):
    def __init__(self, data: bytes, light: bool = False) -> None:
        self._data = data
        self._crc_from = 0
        super().__init__(io.BytesIO(data), check_crc=True, data_processor=_Processor())
        self._messages = _Discard()
        self._light = light
        self._layouts: dict[int, tuple] = {}
        # This file's developer data ids → {field number → DevField} (fitparse's DEV_TYPES is
        # one dict for the whole process: see the module docstring).
        self._dev_types: dict[int, dict[int, Any]] = {}

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

    def _parse_message(self) -> Any:
        message = super()._parse_message()
        kind = getattr(message, "mesg_type", None)
        if getattr(message, "type", None) == "data" and kind is not None \
                and kind.name in _DEV_MESSAGES:
            self._register_dev(kind.name, message)
        return message

    def _register_dev(self, name: str, message: Any) -> None:
        """fitparse.records.add_dev_data_id / add_dev_field_description, into this file's dict."""
        index = message.get_raw_value("developer_data_index")
        if name == "developer_data_id":
            self._dev_types[index] = {}
            return
        if index not in self._dev_types:
            raise fitparse.utils.FitParseError(f"No such dev_data_index={index} found")
        num = message.get_raw_value("field_definition_number")
        self._dev_types[index][num] = DevField(
            dev_data_index=index, def_num=num, type=BASE_TYPES[message.get_raw_value(
                "fit_base_type_id")],
            name=message.get_raw_value("field_name") or f"unnamed_dev_field_{num}",
            units=message.get_raw_value("units"),
            native_field_num=message.get_raw_value("native_field_num"))

    def _dev_type(self, index: int, num: int) -> Any:
        fields = self._dev_types.get(index)
        if fields is None:
            raise fitparse.utils.FitParseError(
                f"No such dev_data_index={index} found when looking up field {num}")
        if num not in fields:
            raise fitparse.utils.FitParseError(f"No such field {num} for dev_data_index {index}")
        return fields[num]

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
                    field=self._dev_type(dev_index, def_num), dev_data_index=dev_index,
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
    if name in KEPT_MESSAGES or name in _DEV_MESSAGES or (name == "record" and not light):
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
    if ts is not None and ts >= ABSOLUTE_MIN:
        return FIT_EPOCH + ts
    return ts
