"""Bounded, fixed-seed mutation fuzzing of real files: only success or InvalidFile may come out.

fitparse checks the file CRC only at the end, so mutated messages still reach the decoder.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.parsing.conftest import ACTIVITIES
from workers.parsing import parse_bytes
from workers.parsing.track import InvalidFile

SMALL_FIT = (ACTIVITIES / "fit" / "fitparse__garmin-fenix-5-run.fit").read_bytes()
TINY_FIT = (ACTIVITIES / "fit" / "msimms__20130720_run_garmin_forerunner_10.fit").read_bytes()
SMALL_GPX = (ACTIVITIES / "gpx" / "gpxpy__track-with-empty-segment.gpx").read_bytes()



def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """Overwrite 1-8 bytes anywhere (header, definitions, data), sometimes truncate."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _parses_or_refuses(data: bytes, name: str) -> None:
    try:
        parsed = parse_bytes(data, name)
    except InvalidFile:
        return
    assert parsed.tracks


@fuzz(120)
@given(mutated(SMALL_FIT))
def test_mutated_fenix_fit_only_parses_or_raises_invalid_file(data):
    _parses_or_refuses(data, "fuzz.fit")


@fuzz(60)
@given(mutated(TINY_FIT))
def test_mutated_forerunner_fit_only_parses_or_raises_invalid_file(data):
    _parses_or_refuses(data, "fuzz.fit")


@fuzz(100)
@given(mutated(SMALL_GPX))
def test_mutated_gpx_only_parses_or_raises_invalid_file(data):
    _parses_or_refuses(data, "fuzz.gpx")
