"""What real uploads do that fixtures don't: files without elevation or times, a file the parser
chokes on inside a batch, and the same file sent twice at the same moment. SQLite + embedded queue,
or PostgreSQL + Redis when configured."""

import math
import threading

import pytest
from sqlalchemy import func, select

from service.domain import activities
from service.models import Activity, RawFile
from tests.helpers import athlete_with_token

NO_ELEVATION = "activities/gpx/gpxpy__cerknicko-jezero-without-elevations.gpx"
RUN = "activities/fit/msimms__20210507_run_garmin_fenix_6.fit"
GPX = "activities/gpx/msimms__run_03_garmin.gpx"


def count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def all_finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(all_finite(v) for v in value)
    return True


def test_a_gpx_without_elevation_is_202_and_stores_no_nan(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename=lake.gpx",
                    data=(data_dir / NO_ELEVATION).read_bytes(), headers=auth)
    assert r.status_code == 202, r.get_json()
    [created] = r.get_json()["activities"]
    runtime.queue.drain()
    with runtime.db.session() as s:
        a = s.get(Activity, created["id"])
        assert math.isfinite(a.moving_time_s) and a.moving_time_s > 0  # times on 295 of 296 points
        assert all_finite(a.metrics)
        assert a.status == "analyzed", a.error


def test_non_finite_values_never_reach_the_database(runtime):
    """The storage boundary itself: NaN/inf in a nullable column or in JSON is stored as null;
    in a NOT NULL column it is refused, naming the column."""
    athlete_id, _ = athlete_with_token(runtime)
    from datetime import UTC, datetime
    with runtime.db.session() as s:
        a = Activity(athlete_id=athlete_id, source="upload", start_time=datetime.now(UTC),
                     loss_m=float("inf"), metrics={"x": float("nan"), "y": [1.0, float("-inf")]},
                     status="parsed")
        s.add(a)
    with runtime.db.session() as s:
        stored = s.get(Activity, a.id)
        assert stored.loss_m is None and stored.metrics == {"x": None, "y": [1.0, None]}
    with pytest.raises(ValueError, match="moving_time_s"), runtime.db.session() as s:
        s.add(Activity(athlete_id=athlete_id, source="upload", start_time=datetime.now(UTC),
                       moving_time_s=float("nan")))


def test_one_bad_file_never_stops_an_upload_batch(client, runtime, data_dir, monkeypatch):
    """A parser crash (not a clean InvalidFile: fitparse raises bare TypeErrors on some files)
    on the middle file of three: the other two are stored, the middle one is a recorded skip."""
    import workers.parsing as parsing

    real = parsing.parse_bytes

    def crashes_on_b(data, name):
        if name == "b.gpx":
            raise TypeError("'>=' not supported between instances of 'tuple' and 'int'")
        return real(data, name)

    monkeypatch.setattr(parsing, "parse_bytes", crashes_on_b)
    athlete_id, auth = athlete_with_token(runtime)
    import io
    files = [(io.BytesIO((data_dir / RUN).read_bytes()), "a.fit"),
             (io.BytesIO((data_dir / GPX).read_bytes()), "b.gpx"),
             (io.BytesIO((data_dir / NO_ELEVATION).read_bytes()), "c.gpx")]
    r = client.post(f"/v1/athletes/{athlete_id}/activities", headers=auth,
                    data={"file": files}, content_type="multipart/form-data")
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert len(body["activities"]) == 2
    assert [k["file"] for k in body["skipped"]] == ["b.gpx"]
    assert "TypeError" in body["skipped"][0]["reason"]
    assert count(runtime, RawFile) == 2


def test_identical_bytes_in_two_open_transactions_store_one(runtime, data_dir):
    """Deterministic race: session A has inserted the file but not committed when session B
    (another thread) ingests the same bytes. B waits on the unique key (PostgreSQL) or the write
    lock (SQLite), then answers 'duplicate' of A's activity."""
    athlete_id, _ = athlete_with_token(runtime)
    data = (data_dir / RUN).read_bytes()
    out: dict = {}

    def second() -> None:
        with runtime.db.session() as s:
            out["b"] = activities.ingest_one(s, athlete_id, "again.fit", data)

    with runtime.db.session() as s:
        out["a"] = activities.ingest_one(s, athlete_id, "run.fit", data)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)  # B is now blocked on A's uncommitted row (or already done)
    thread.join(timeout=60)
    assert not thread.is_alive()
    [a_created] = out["a"].created
    assert out["b"].created == []
    assert [d["activity"] for d in out["b"].duplicates] == [a_created["id"]]
    assert count(runtime, RawFile) == 1 and count(runtime, Activity) == 1


def test_two_identical_uploads_at_the_same_moment_over_http(client, app, runtime, data_dir):
    """Two requests released together: both 202, exactly one stored, the other lists it as a
    duplicate."""
    athlete_id, auth = athlete_with_token(runtime)
    data = (data_dir / RUN).read_bytes()
    url = f"/v1/athletes/{athlete_id}/activities?filename=run.fit"
    start = threading.Barrier(2)
    answers = []

    def post() -> None:
        c = app.test_client()
        start.wait()
        r = c.post(url, data=data, headers=auth)
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(code for code, _ in answers) == [202, 202], answers
    created = [a for _, body in answers for a in body["activities"]]
    duplicates = [d for _, body in answers for d in body["duplicates"]]
    assert len(created) == 1 and [d["activity"] for d in duplicates] == [created[0]["id"]]
    assert count(runtime, RawFile) == 1 and count(runtime, Activity) == 1
