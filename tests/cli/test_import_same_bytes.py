"""Identical bytes are recognised first, on every intake path, before anything is decoded
(docs/decisions.md, issue 24): a re-imported archive costs a hash per member, not a FIT decode."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

import workers.parsing
from service.domain import accounts, activities, importer
from service.models import Activity, RawFile

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "activities" / "fit"
FILES = ("gc__10kUNLP2014-Garmin15.fit", "workoutizer__with_nones.fit")


def _no_decode(*args, **kwargs):
    raise AssertionError("identical bytes were decoded again")


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "runs.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in FILES:
            z.write(DATA / name, name)
    return path


def _athlete(runtime, email: str = "same@example.com") -> str:
    with runtime.db.session() as s:
        return accounts.get_or_create_athlete(s, email).id


@pytest.mark.parametrize("form", ["archive", "files"])
def test_a_second_import_of_the_same_bytes_decodes_nothing(runtime, archive, monkeypatch, form):
    athlete = _athlete(runtime)
    paths = [str(archive)] if form == "archive" else [str(DATA / n) for n in FILES]
    first = importer.run_import(runtime, athlete, paths, None)
    assert len(first.result.created) == len(FILES)
    # The seam every import path decodes through (in this process or in the pool's).
    monkeypatch.setattr(importer._Pool, "submit", _no_decode)
    second = importer.run_import(runtime, athlete, paths, None)
    assert second.result.created == [] and second.result.skipped == []
    assert {d["activity"] for d in second.result.duplicates} == \
        {a["id"] for a in first.result.created}
    assert all("already imported" in d["reason"] for d in second.result.duplicates)


def test_a_pooled_import_checks_the_bytes_before_the_pool(runtime, archive, monkeypatch):
    """Enough files for the pool: a re-import starts no process at all."""
    athlete = _athlete(runtime)
    importer.run_import(runtime, athlete, [str(archive)], None)
    monkeypatch.setattr(importer, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(importer, "ProcessPoolExecutor", _no_decode)
    second = importer.run_import(runtime, athlete, [str(archive)], None)
    assert len(second.result.duplicates) == len(FILES) and second.result.created == []


def test_a_re_upload_answers_duplicate_without_decoding(runtime, monkeypatch):
    athlete = _athlete(runtime)
    data = (DATA / FILES[0]).read_bytes()
    with runtime.db.session() as s:
        first = activities.ingest_bytes(s, athlete, FILES[0], data)
    monkeypatch.setattr(workers.parsing, "parse_bytes", _no_decode)
    with runtime.db.session() as s:
        again = activities.ingest_bytes(s, athlete, "renamed.fit", data)
    assert [d["activity"] for d in again.duplicates] == [first.created[0]["id"]]


def _orphan_raw(runtime, athlete: str, data: bytes) -> None:
    """The bytes of an attempt that failed after they were stored (no activity from them)."""
    with runtime.db.session() as s:
        s.add(RawFile(athlete_id=athlete, source="upload", filename="earlier.fit",
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data))


@pytest.mark.parametrize("path", ["upload", "import"])
def test_stored_bytes_without_an_activity_are_decoded_again(runtime, path):
    athlete = _athlete(runtime)
    data = (DATA / FILES[0]).read_bytes()
    _orphan_raw(runtime, athlete, data)
    if path == "upload":
        with runtime.db.session() as s:
            created = activities.ingest_bytes(s, athlete, FILES[0], data).created
    else:
        created = importer.run_import(runtime, athlete, [str(DATA / FILES[0])], None).result.created
    assert len(created) == 1
    with runtime.db.session() as s:
        raws = s.scalars(select(RawFile.id).where(RawFile.athlete_id == athlete)).all()
        assert len(raws) == 1  # the one row of these bytes, now with its activity
        assert s.scalar(select(func.count(Activity.id))
                        .where(Activity.raw_file_id == raws[0])) == 1
