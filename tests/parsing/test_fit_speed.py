"""The FIT decoder's fast paths read every shared file exactly as plain fitparse does.

Three shortcuts in workers/parsing/fit_decode.py: messages we never use are skipped with one
read, the CRC is computed once with numpy instead of per read, and the light pass skims records
for time and distance. Each must be invisible in the Tracks (same arrays, totals, laps, pauses,
device) or, for the light pass, in everything the distance rules read.
"""

from __future__ import annotations

import dataclasses
import os

import fitparse
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.parsing.conftest import FIT_FILES, INVALID_FIT, ids
from workers.parsing import fit_decode
from workers.parsing.fit import fit_crc, parse_fit
from workers.parsing.track import InvalidFile

LIGHT_FIELDS = ("start_time", "sport", "sub_sport", "device", "distance_m", "moving_time_s",
                "totals", "laps", "pauses", "indoor")


def _plain(monkeypatch) -> None:
    """fitparse's own reading, CRC and message decoding (what the decoder did before)."""
    for name in ("_read", "_read_and_assert_crc", "_parse_data_message"):
        monkeypatch.setattr(fit_decode.FitDecoder, name, getattr(fitparse.FitFile, name))


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    return a == b


def _read(path, **kw):
    try:
        return parse_fit(path.read_bytes(), **kw)
    except InvalidFile as exc:
        return exc


@pytest.mark.parametrize("path", FIT_FILES + INVALID_FIT, ids=ids(FIT_FILES + INVALID_FIT))
def test_fast_paths_read_the_same_tracks_as_plain_fitparse(path, monkeypatch):
    fast, light = _read(path), _read(path, light=True)
    _plain(monkeypatch)
    plain = _read(path)
    if isinstance(plain, InvalidFile):  # refused either way (the message may name another read)
        assert isinstance(fast, InvalidFile) and isinstance(light, InvalidFile)
        return
    assert len(fast) == len(plain) == len(light)
    for f, p, q in zip(fast, plain, light, strict=True):
        for field in dataclasses.fields(p):
            assert _same(getattr(f, field.name), getattr(p, field.name)), field.name
        for name in LIGHT_FIELDS:
            assert _same(getattr(q, name), getattr(p, name)), name
        assert q.altitude_source == "none" and not q.has_gps  # light: no terrain to misread


def test_a_wrong_file_crc_is_still_refused():
    data = bytearray((FIT_FILES[0]).read_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(InvalidFile, match="checksum does not match"):
        parse_fit(bytes(data))
    with pytest.raises(InvalidFile, match="checksum does not match"):
        parse_fit(bytes(data), light=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=70_000), st.integers(min_value=0, max_value=2**32))
def test_the_numpy_crc_is_the_sdk_crc(size, seed):
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert fit_crc(data) == fitparse.records.Crc.calculate(data)


def test_the_numpy_crc_on_a_large_random_buffer():
    data = os.urandom(300_001)
    assert fit_crc(data) == fitparse.records.Crc.calculate(data)
