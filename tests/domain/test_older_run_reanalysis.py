"""An older run uploaded after newer ones changes the newer runs' verdicts: they go back to
`parsed` and are analysed right after the upload's commit, through the queue, without waiting for
a sweeper round (which comes only every 60 s). Real files, the real queue (Redis when configured),
no sweeper called."""

from __future__ import annotations

from sqlalchemy import select

from service.models import Activity
from tests.helpers import athlete_with_token

NEWER = "activities/fit/msimms__20210604_track_run_garmin_fenix_6.fit"  # 4 June 2021
OLDER = "activities/fit/msimms__20210507_run_garmin_fenix_6.fit"  # 7 May 2021


def _upload(client, athlete_id: str, auth: dict, path, name: str) -> str:
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename={name}",
                    data=path.read_bytes(), headers=auth)
    assert r.status_code == 202, r.get_json()
    return r.get_json()["activities"][0]["id"]


def _status(runtime, activity_id: str) -> str:
    with runtime.db.session() as s:
        return s.scalar(select(Activity.status).where(Activity.id == activity_id))


def test_later_runs_are_analysed_after_an_older_upload_without_a_sweeper(client, runtime,
                                                                          data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    newer = _upload(client, athlete_id, auth, data_dir / NEWER, "june.fit")
    runtime.queue.drain()
    assert _status(runtime, newer) == "analyzed"

    older = _upload(client, athlete_id, auth, data_dir / OLDER, "may.fit")
    assert _status(runtime, newer) == "parsed"  # its 30-day look-back now holds the May run
    assert runtime.queue.pending_count() == 2  # the older run, and the newer one again
    runtime.queue.drain()
    assert (_status(runtime, older), _status(runtime, newer)) == ("analyzed", "analyzed")


def test_a_batch_enqueues_each_later_run_once(client, runtime, data_dir):
    """Two older files in one upload mark the same later run twice: one job for it."""
    athlete_id, auth = athlete_with_token(runtime)
    newer = _upload(client, athlete_id, auth, data_dir / NEWER, "june.fit")
    runtime.queue.drain()
    r = client.post(f"/v1/athletes/{athlete_id}/activities", headers=auth, data={
        "file": [((data_dir / OLDER).open("rb"), "may.fit"),
                 ((data_dir / "activities/gpx/msimms__run_03_garmin.gpx").open("rb"),
                  "2013.gpx")]}, content_type="multipart/form-data")
    assert r.status_code == 202, r.get_json()
    assert len(r.get_json()["activities"]) == 2
    assert "again" not in r.get_json()  # internal: the answer lists what the upload created
    assert runtime.queue.pending_count() == 3
    runtime.queue.drain()
    with runtime.db.session() as s:
        assert set(s.scalars(select(Activity.status))) == {"analyzed"}
    assert _status(runtime, newer) == "analyzed"
