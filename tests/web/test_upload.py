"""POST /v1/athletes/<id>/activities with real files."""

import gzip
import io
import zipfile

from sqlalchemy import func, select

from service.models import Activity, RawFile
from tests.helpers import athlete_with_token

RUN = "activities/fit/msimms__20210507_run_garmin_fenix_6.fit"
GPX = "activities/gpx/msimms__run_03_garmin.gpx"


def count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_raw_fit_body_creates_an_activity_and_is_analysed(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    body = (data_dir / RUN).read_bytes()
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename=run.fit", data=body,
                    headers=auth, content_type="application/octet-stream")
    assert r.status_code == 202, r.get_json()
    created = r.get_json()["activities"]
    assert len(created) == 1 and created[0]["sport"] == "running"
    assert created[0]["distance_m"] > 1000
    runtime.queue.drain()
    with runtime.db.session() as s:
        activity = s.get(Activity, created[0]["id"])
        assert activity.status == "analyzed"
        assert activity.metrics["elevation"]["loss_m"] >= 0


def test_multipart_files_and_gz_are_accepted(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    gpx_gz = gzip.compress((data_dir / GPX).read_bytes())
    r = client.post(f"/v1/athletes/{athlete_id}/activities", headers=auth, data={
        "file": [(io.BytesIO((data_dir / RUN).read_bytes()), "a.fit"),
                 (io.BytesIO(gpx_gz), "b.gpx.gz")]}, content_type="multipart/form-data")
    assert r.status_code == 202, r.get_json()
    assert len(r.get_json()["activities"]) == 2


def test_the_same_bytes_twice_are_recognised_not_stored_twice(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    body = (data_dir / RUN).read_bytes()
    url = f"/v1/athletes/{athlete_id}/activities?filename=run.fit"
    first = client.post(url, data=body, headers=auth).get_json()["activities"][0]["id"]
    again = client.post(url, data=body, headers=auth)
    assert again.status_code == 202
    assert again.get_json()["activities"] == []
    assert again.get_json()["duplicates"][0]["activity"] == first
    assert count(runtime, Activity) == 1 and count(runtime, RawFile) == 1


def test_the_same_run_from_another_file_is_a_duplicate(client, runtime, data_dir):
    """A GPX export of a FIT run: same start ±60 s and distance ±1% → not stored twice."""
    athlete_id, auth = athlete_with_token(runtime)
    fit = (data_dir / "activities/fit/sportslib__6782987395.fit").read_bytes()
    gpx = (data_dir / "activities/gpx/sportslib__6782987395.gpx").read_bytes()
    url = f"/v1/athletes/{athlete_id}/activities"
    first = client.post(url + "?filename=a.fit", data=fit, headers=auth).get_json()
    second = client.post(url + "?filename=a.gpx", data=gpx, headers=auth).get_json()
    assert len(first["activities"]) == 1
    assert second["activities"] == [] and second["duplicates"][0]["activity"] == first[
        "activities"][0]["id"]


def test_an_invalid_file_is_a_clear_422_and_nothing_is_stored(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    for bad in sorted((data_dir / "activities/fit-invalid").iterdir()):
        r = client.post(f"/v1/athletes/{athlete_id}/activities?filename={bad.name}",
                        data=bad.read_bytes(), headers=auth)
        assert r.status_code == 422, bad.name
        err = r.get_json()["error"]
        assert err["code"] == "invalid_file" and err["details"][0]["reason"]
    assert count(runtime, Activity) == 0 and count(runtime, RawFile) == 0


def test_a_bad_file_among_good_ones_is_a_skip_and_the_good_ones_stay(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("good.fit", (data_dir / RUN).read_bytes())
        z.writestr("bad.fit", b".FIT garbage" * 10)
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename=x.zip", data=zbuf.getvalue(),
                    headers=auth)
    assert r.status_code == 202
    assert len(r.get_json()["activities"]) == 1
    assert [s["file"] for s in r.get_json()["skipped"]] == ["x.zip!bad.fit"]


def test_uploading_for_another_athlete_is_a_404(client, runtime, data_dir):
    other_id, _ = athlete_with_token(runtime, "other@example.com")
    _, auth = athlete_with_token(runtime)
    r = client.post(f"/v1/athletes/{other_id}/activities", data=b"x", headers=auth)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_no_token_is_a_401(client):
    r = client.post("/v1/athletes/ath_x/activities", data=b"x")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_an_empty_body_is_a_400(client, runtime):
    athlete_id, auth = athlete_with_token(runtime)
    r = client.post(f"/v1/athletes/{athlete_id}/activities", data=b"", headers=auth)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input"


def test_a_strava_export_archive_is_stored_with_its_source_and_a_tcx_skip(client, runtime):
    from tests.parsing.test_archives import CSV_HEADER, CSV_ROWS, RUN_FIT, UNTYPED_GPX, _zip

    athlete_id, auth = athlete_with_token(runtime)
    archive = _zip({
        "export/activities.csv": "\n".join([CSV_HEADER, *CSV_ROWS[:2], CSV_ROWS[3]]).encode(),
        "export/activities/1.fit.gz": gzip.compress(RUN_FIT.read_bytes()),
        "export/activities/2.gpx": UNTYPED_GPX.read_bytes(),
        "export/activities/4.tcx.gz": gzip.compress(b"<TrainingCenterDatabase/>"),
    })
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename=export.zip", data=archive,
                    headers=auth)
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert {a["source"] for a in body["activities"]} == {"strava_export"}
    assert len(body["activities"]) == 2
    assert any("tcx" in s["file"].lower() for s in body["skipped"])


def test_the_list_and_each_run_name_the_file_it_came_from(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    url = f"/v1/athletes/{athlete_id}/activities"
    client.post(url + "?filename=morning.fit", data=(data_dir / RUN).read_bytes(), headers=auth)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("runs/old.gpx", (data_dir / GPX).read_bytes())
    r = client.post(url, headers=auth, data={"file": [(io.BytesIO(zbuf.getvalue()), "week.zip")]},
                    content_type="multipart/form-data")
    assert r.get_json()["activities"][0]["file"] == "week.zip!runs/old.gpx"
    listed = client.get(url, headers=auth).get_json()["activities"]
    assert [a["file"] for a in listed] == ["morning.fit", "week.zip!runs/old.gpx"]  # newest first
    one = client.get(f"{url}/{listed[0]['id']}", headers=auth).get_json()
    assert one["file"] == "morning.fit"


def test_a_run_shows_the_descent_we_use_our_estimate_and_the_watch_total(client, runtime,
                                                                          data_dir):
    """Issue 22: the engine's own estimate from the samples is visible beside the watch's total
    (the FR955 recorded 165 m; the samples read 147 m; the rules use the watch's)."""
    athlete_id, auth = athlete_with_token(runtime)
    url = f"/v1/athletes/{athlete_id}/activities"
    fit = data_dir / "activities/fit/gc__14211916346_ACTIVITY_FR955v18.fit"
    created = client.post(url + "?filename=hilly.fit", data=fit.read_bytes(), headers=auth)
    runtime.queue.drain()
    one = client.get(f"{url}/{created.get_json()['activities'][0]['id']}", headers=auth)
    descent = one.get_json()["descent"]
    assert descent["device_loss_m"] == 165.0 and descent["loss_source"] == "device"
    assert descent["loss_m"] == 165.0 and 130 < descent["samples_loss_m"] < 160
    assert descent["altitude_source"] == "barometric"
