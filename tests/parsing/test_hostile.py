"""Hostile inputs are refused (InvalidFile for a single file, Skip inside an archive).

How fast they are refused is measured in bench/parse.py, not asserted here.
"""

from __future__ import annotations

import pytest

from testkit import hostile
from tests.parsing.conftest import ACTIVITIES
from workers.parsing import archives, parse_bytes
from workers.parsing.track import InvalidFile

SMALL_FIT = (ACTIVITIES / "fit" / "fitparse__garmin-fenix-5-run.fit").read_bytes()


def test_billion_laughs_gpx_is_refused_before_parsing():
    with pytest.raises(InvalidFile, match="DTD"):
        parse_bytes(hostile.billion_laughs_gpx(), "laughs.gpx")


def test_xxe_gpx_is_refused_and_never_leaks_the_file():
    with pytest.raises(InvalidFile) as caught:
        parse_bytes(hostile.xxe_gpx(), "xxe.gpx")
    assert "root:" not in str(caught.value)


def test_xmlns_bomb_gpx_is_refused():
    with pytest.raises(InvalidFile, match="xmlns"):
        parse_bytes(hostile.xmlns_bomb_gpx(), "ns.gpx")


def test_zip_bomb_member_is_skipped_for_its_ratio():
    parsed = parse_bytes(hostile.zip_bomb(), "bomb.zip")
    (skip,) = parsed.skipped
    assert not parsed.tracks
    assert "ratio" in skip.reason or "larger than" in skip.reason


def test_zip_member_lying_about_its_size_is_skipped():
    parsed = parse_bytes(hostile.lying_zip_bomb(), "liar.zip")
    (skip,) = parsed.skipped
    assert not parsed.tracks and skip.file == "liar.zip!activities/liar.fit"


def test_nested_zip_bomb_is_cut_at_the_nesting_limit():
    parsed = parse_bytes(hostile.nested_zip_bomb(), "nested.zip")
    assert not parsed.tracks
    assert parsed.skipped and all(
        "nested" in s.reason or "ratio" in s.reason for s in parsed.skipped)


def test_gzip_bomb_inside_an_archive_is_skipped():
    parsed = parse_bytes(hostile.gzip_bomb_zip(), "gz.zip")
    (skip,) = parsed.skipped
    assert "expands beyond" in skip.reason


def test_single_gzip_bomb_upload_is_refused():
    with pytest.raises(InvalidFile, match="expands beyond"):
        parse_bytes(hostile.gzip_of_zeros(64 << 20), "bomb.fit.gz")


def test_archive_with_too_many_entries_is_refused_whole(monkeypatch):
    monkeypatch.setattr(archives, "MAX_ARCHIVE_ENTRIES", 50)
    with pytest.raises(InvalidFile, match="more than 50 entries"):
        parse_bytes(hostile.many_entries_zip(51), "many.zip")


def test_path_traversal_members_are_skipped_and_the_rest_parsed():
    parsed = parse_bytes(hostile.traversal_zip(SMALL_FIT), "trav.zip")
    assert [t.source_file for t in parsed.tracks] == ["trav.zip!activities/ok.fit"]
    assert len(parsed.skipped) == 3
    assert all("unsafe path" in s.reason for s in parsed.skipped)


@pytest.mark.parametrize("payload", [b"", b"\x00" * 100, b"PK\x03\x04garbage", b"\x1f\x8bxx",
                                     b"{not json", b"[1, 2, 3]", b"<html></html>",
                                     b"[" * 100_000 + b"]" * 100_000])
def test_junk_is_refused_with_invalid_file(payload):
    with pytest.raises(InvalidFile):
        parse_bytes(payload, "junk")
