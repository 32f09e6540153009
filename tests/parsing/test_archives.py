from __future__ import annotations

import gzip
import zipfile

import pytest

from testkit.hostile import zip_of
from tests.parsing.conftest import ACTIVITIES
from workers.parsing import iter_paths, parse_bytes

RUN_FIT = ACTIVITIES / "fit" / "msimms__20210507_run_garmin_fenix_6.fit"
WALK_FIT = ACTIVITIES / "fit" / "fitparse__garmin-fenix-5-walk.fit"
UNTYPED_GPX = ACTIVITIES / "gpx" / "msimms__20170308_intra_run_club.gpx"  # StravaGPX, no <type>
HIKE_GPX = ACTIVITIES / "gpx" / "gpxpy__cerknicko-jezero.gpx"

# The real header repeats names (Distance, Elapsed Time …); abridged but in the real order.
CSV_HEADER = ("Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,"
              "Elapsed Time,Distance,Max Heart Rate,Relative Effort,Commute,Activity Private Note,"
              "Activity Gear,Filename,Athlete Weight,Bike Weight,Elapsed Time,Moving Time,Distance")
CSV_ROWS = [
    '1,"May 7, 2021, 1:43:39 PM",Road run,Run,,2359,9.39,,,false,,Pegasus 37,'
    "activities/1.fit.gz,,,2359,2359,9386.1",
    '2,"Mar 8, 2017, 10:32:44 PM",Club run,Run,,1380,4.90,,,false,,Pegasus 37,'
    "activities/2.gpx,,,1380,1354,4905.0",
    '3,"Aug 5, 2010, 2:23:59 PM",Lake walk,Hike,,4239,4.58,,,false,,,'
    "activities/3.gpx.gz,,,4239,2425,4580.0",
    '4,"Jun 1, 2021, 7:00:00 AM",Old run,Run,,3600,10.0,,,false,,,'
    "activities/4.tcx.gz,,,3600,3600,10000.0",
    '5,"Jun 2, 2021, 7:00:00 AM",Treadmill (typed in),Run,,1800,5.0,,,false,,,'
    ",,,1800,1800,5000.0",
]


_zip = zip_of  # one zip builder, shared with the hostile-input builders


@pytest.fixture(scope="module")
def strava_export() -> bytes:
    return _zip({
        "activities.csv": "\n".join([CSV_HEADER, *CSV_ROWS]).encode(),
        "profile.csv": b"Athlete ID\n1\n",
        "activities/1.fit.gz": gzip.compress(RUN_FIT.read_bytes()),
        "activities/2.gpx": UNTYPED_GPX.read_bytes(),
        "activities/3.gpx.gz": gzip.compress(HIKE_GPX.read_bytes()),
        "activities/4.tcx.gz": gzip.compress(b"<?xml version='1.0'?><TrainingCenterDatabase/>"),
        "media/photo.jpg": b"\xff\xd8\xff",
    })


@pytest.fixture(scope="module")
def garmin_export() -> bytes:
    inner = _zip({"12345.fit": RUN_FIT.read_bytes(), "12346.fit": WALK_FIT.read_bytes(),
                  "broken.fit": RUN_FIT.read_bytes()[:4000]})
    return _zip({
        "DI_CONNECT/DI-Connect-Fitness/me_0_summarizedActivities.json": b'[{"x": []}]',
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
    }, compression=zipfile.ZIP_STORED)


def test_strava_export_yields_file_tracks_csv_metadata_and_manual_entries(strava_export):
    parsed = parse_bytes(strava_export, "export.zip")
    by_file = {t.source_file: t for t in parsed.tracks}
    fit = by_file["export.zip!activities/1.fit.gz"]
    assert fit.sport == "running" and fit.name == "Road run" and fit.gear_id == "Pegasus 37"
    assert fit.totals.distance_m == pytest.approx(9386.1)
    assert by_file["export.zip!activities/2.gpx"].sport == "running"
    # The CSV's type beats the GPX's speed-inferred sport.
    assert by_file["export.zip!activities/3.gpx.gz"].sport == "hiking"
    manual = by_file["export.zip!activities.csv:6"]
    assert manual.manual and manual.is_run and manual.distance_m == 5000.0
    assert len(parsed.tracks) == 4
    assert parsed.raw_sha256 and len(parsed.raw_sha256) == 64


def test_strava_export_tcx_is_skipped_with_a_reason(strava_export):
    parsed = parse_bytes(strava_export, "export.zip")
    assert [(s.file, s.reason) for s in parsed.skipped] == [
        ("export.zip!activities/4.tcx.gz", "TCX files are not supported yet")]


def test_garmin_export_reads_nested_zips_and_skips_the_broken_member(garmin_export):
    parsed = parse_bytes(garmin_export, "garmin.zip")
    assert sorted(t.sport for t in parsed.tracks) == ["running", "walking"]
    (skip,) = parsed.skipped
    assert skip.file.endswith("UploadedFiles_0-_Part1.zip!broken.fit")
    assert "FIT file is damaged" in skip.reason or "ends too early" in skip.reason


def test_iter_paths_streams_archives_members_and_folders(tmp_path, garmin_export):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "garmin.zip").write_bytes(garmin_export)
    (tmp_path / "run.fit").write_bytes(RUN_FIT.read_bytes())
    (tmp_path / "notes.txt").write_text("not an activity")
    (tmp_path / "bad.gpx").write_bytes(b"<gpx><trk>")
    results = list(iter_paths([str(tmp_path), str(tmp_path / "missing.fit")]))
    files = [r.file for r in results]
    assert files[0].endswith("bad.gpx") and results[0].skipped
    assert files[1].endswith("run.fit") and results[1].tracks[0].is_run
    assert sum(len(r.tracks) for r in results) == 3
    assert "notes.txt" not in " ".join(files)
    assert results[-1].skipped[0].reason.startswith("cannot read")
    member = next(r for r in results if r.file.endswith("12345.fit"))
    assert member.raw_sha256 is not None


def test_gzipped_single_file_is_sniffed_by_content_not_name():
    parsed = parse_bytes(gzip.compress(RUN_FIT.read_bytes()), "upload.bin")
    (track,) = parsed.tracks
    assert track.is_run and track.source_file == "upload.bin"
