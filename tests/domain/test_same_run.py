"""One run, several copies (a FIT and its GPX export), arriving in any order and any number of times.

- identical bytes answer `duplicate` with the activity they belong to, every time (a GPX export
  sent twice after its FIT once answered 422 and left raw bytes without an activity);
- the kept copy is chosen by content (FIT over GPX), whatever the order;
- activity and finding ids are the same for both arrival orders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from service.models import Activity, Delivery, Finding, RawFile
from testkit.copies import gpx_copy
from testkit.synthetic import run_track
from tests.helpers import athlete_with_token
from workers.parsing import parse_bytes

PAIR = ("activities/fit/sportslib__6782987395.fit", "activities/gpx/sportslib__6782987395.gpx")
# The FIT the fault run lost (pauses; its GPX export is derived here as Garmin Connect writes it).
LOST = "activities/fit/sportslib__6909950168.fit"


def upload(client, athlete_id, auth, name: str, body: bytes):
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename={name}", data=body,
                    headers=auth)
    assert r.status_code == 202, (name, r.status_code, r.get_json())
    return r.get_json()


def counts(runtime, athlete_id) -> dict:
    with runtime.db.session() as s:
        raws = s.scalars(select(RawFile.id).where(RawFile.athlete_id == athlete_id)).all()
        used = set(s.scalars(select(Activity.raw_file_id).where(
            Activity.athlete_id == athlete_id)))
        return {"activities": s.scalar(select(func.count()).select_from(Activity).where(
            Activity.athlete_id == athlete_id)),
            "raw_files": len(raws), "raw_without_activity": len(set(raws) - used)}


@pytest.fixture
def lost_pair(data_dir):
    fit = (data_dir / LOST).read_bytes()
    gpx = gpx_copy(parse_bytes(fit, "x.fit").tracks[0])
    assert gpx is not None
    return fit, gpx


def test_fit_then_its_gpx_twice_answers_duplicate_each_time(client, runtime, lost_pair):
    fit, gpx = lost_pair
    athlete_id, auth = athlete_with_token(runtime)
    kept = upload(client, athlete_id, auth, "run.fit", fit)["activities"][0]["id"]
    for _ in range(2):
        again = upload(client, athlete_id, auth, "run.gpx", gpx)
        assert again["activities"] == []
        assert [d["activity"] for d in again["duplicates"]] == [kept]
    assert counts(runtime, athlete_id) == {"activities": 1, "raw_files": 1,
                                           "raw_without_activity": 0}


def test_gpx_then_its_fit_keeps_the_fit_and_both_resent_are_duplicates(client, runtime,
                                                                        lost_pair):
    fit, gpx = lost_pair
    athlete_id, auth = athlete_with_token(runtime)
    first = upload(client, athlete_id, auth, "run.gpx", gpx)["activities"][0]["id"]
    runtime.queue.drain()
    took_over = upload(client, athlete_id, auth, "run.fit", fit)["activities"]
    assert len(took_over) == 1 and took_over[0]["replaces"] == first
    kept = took_over[0]["id"]
    for name, body in (("run.fit", fit), ("run.gpx", gpx), ("run.fit", fit)):
        again = upload(client, athlete_id, auth, name, body)
        assert again["activities"] == [] and [d["activity"] for d in again["duplicates"]] == [kept]
    assert counts(runtime, athlete_id) == {"activities": 1, "raw_files": 1,
                                           "raw_without_activity": 0}
    with runtime.db.session() as s:
        assert s.get(Activity, kept).file_name == "run.fit"


def test_raw_bytes_left_without_an_activity_by_an_older_version_are_read_again(
        client, runtime, lost_pair):
    fit, gpx = lost_pair
    athlete_id, auth = athlete_with_token(runtime)
    kept = upload(client, athlete_id, auth, "run.fit", fit)["activities"][0]["id"]
    import hashlib

    with runtime.db.session() as s:  # what the old code stored for the GPX export
        s.add(RawFile(athlete_id=athlete_id, source="upload", filename="run.gpx",
                      sha256=hashlib.sha256(gpx).hexdigest(), size=len(gpx), data=gpx))
    again = upload(client, athlete_id, auth, "run.gpx", gpx)
    assert [d["activity"] for d in again["duplicates"]] == [kept]
    assert counts(runtime, athlete_id)["raw_without_activity"] == 0


def arrive(client, runtime, athlete_id, auth, files) -> tuple[set, set]:
    for name, body in files:
        upload(client, athlete_id, auth, name, body)
        runtime.queue.drain()
    with runtime.db.session() as s:
        acts = {(a.id, a.file_name) for a in s.scalars(select(Activity).where(
            Activity.athlete_id == athlete_id))}
        found = {(f.id, f.rule, f.activity_id) for f in s.scalars(select(Finding).where(
            Finding.athlete_id == athlete_id))}
    return acts, found


def forget_history(runtime, athlete_id) -> None:
    with runtime.db.session() as s:
        for model in (Delivery, Finding, Activity, RawFile):
            s.execute(delete(model).where(model.athlete_id == athlete_id))


def earlier_runs() -> list[tuple[str, bytes]]:
    """6 km runs over the six weeks before the pair's 14 km (rules wait for 28 days and 3 runs
    of history): the pair is a distance spike."""
    return [(f"easy{n}.gpx", gpx_copy(run_track(datetime(2019, 5, 1, 7, tzinfo=UTC)
                                                + timedelta(days=n), 6.0)))
            for n in range(0, 42, 5)]


def test_both_arrival_orders_give_the_same_activity_and_finding_ids(client, runtime, data_dir):
    fit, gpx = ((name.rsplit("/", 1)[-1], (data_dir / name).read_bytes()) for name in PAIR)
    athlete_id, auth = athlete_with_token(runtime)
    fit_first = arrive(client, runtime, athlete_id, auth, [*earlier_runs(), fit, gpx])
    forget_history(runtime, athlete_id)
    gpx_first = arrive(client, runtime, athlete_id, auth, [*earlier_runs(), gpx, fit])
    assert gpx_first == fit_first
    acts, found = fit_first
    assert fit[0] in {name for _, name in acts} and gpx[0] not in {name for _, name in acts}
    kept = next(i for i, name in acts if name == fit[0])
    assert {rule for _, rule, activity in found if activity == kept}, "the spike is found"
