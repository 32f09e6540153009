"""Knee load through the service: real files uploaded and analysed get `knee_load_km`; the
activity.analyzed payload carries it (and fits its published schema); GET /v1/athletes/<id>/load
answers daily and weekly figures with the tolerance, to the athlete only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain import accounts
from service.domain.findings import analyzed_data
from service.models import Activity
from tests.clubs.world import add_run
from tests.helpers import athlete_with_token
from workers.notify.catalog import PayloadInvalid, validate_payload

HILLY = "activities/fit/gc__4077461142.fit"  # 12.2 km, 351 m down (barometric)
FLAT = "activities/fit/msimms__20210507_run_garmin_fenix_6.fit"  # 9.4 km, 14 m down


def upload(client, runtime, data_dir, rel: str, athlete_id: str, auth: dict) -> str:
    r = client.post(f"/v1/athletes/{athlete_id}/activities?filename={rel.rsplit('/', 1)[-1]}",
                    data=(data_dir / rel).read_bytes(), headers=auth)
    assert r.status_code == 202, r.get_json()
    runtime.queue.drain()
    return r.get_json()["activities"][0]["id"]


def test_an_analysed_run_has_its_knee_load_in_the_api(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    hilly = upload(client, runtime, data_dir, HILLY, athlete_id, auth)
    flat = upload(client, runtime, data_dir, FLAT, athlete_id, auth)
    listed = {a["id"]: a for a in client.get(f"/v1/athletes/{athlete_id}/activities",
                                             headers=auth).get_json()["activities"]}
    assert listed[hilly]["knee_load_km"] > 1.1 * 12.17  # a hilly run weighs clearly more
    assert abs(listed[flat]["knee_load_km"] - 9.39) < 0.06 * 9.39  # a flat easy run ~ its km
    one = client.get(f"/v1/athletes/{athlete_id}/activities/{hilly}", headers=auth).get_json()
    assert one["knee_load_km"] == listed[hilly]["knee_load_km"]
    assert one["metrics"]["knee"]["method"] == "samples"


def test_activity_analyzed_carries_knee_load_and_fits_the_schema(client, runtime, data_dir):
    athlete_id, auth = athlete_with_token(runtime)
    hilly = upload(client, runtime, data_dir, HILLY, athlete_id, auth)
    with runtime.db.session() as s:
        activity = s.get(Activity, hilly)
        data = analyzed_data(activity, [])
    assert data["knee_load_km"] == activity.knee_load_km > 12.17
    validate_payload("activity.analyzed", {"type": "activity.analyzed",
                                           "timestamp": "2026-12-06T12:00:00Z", "data": data})
    data["knee_load_km"] = -1.0  # the schema is not a rubber stamp
    with pytest.raises(PayloadInvalid):
        validate_payload("activity.analyzed", {"type": "activity.analyzed",
                                               "timestamp": "2026-12-06T12:00:00Z",
                                               "data": data})


def test_load_endpoint_weeks_days_and_tolerance(client, runtime):
    athlete_id, auth = athlete_with_token(runtime)
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    with runtime.db.session() as s:
        for day in range(70, 0, -2):  # ten weeks, a run every other day
            add_run(s, athlete_id, now - timedelta(days=day), 8.0)
    r = client.get(f"/v1/athletes/{athlete_id}/load", headers=auth)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["unit"] == "knee_km" and len(body["weeks"]) == 12
    assert len(body["days"]) == 7 * 11 + datetime.now(UTC).date().weekday() + 1
    full = [w for w in body["weeks"] if w["runs"] >= 3]
    assert full and all(abs(w["knee_load_km"] - w["distance_m"] / 1000) < 0.01 * w["distance_m"]
                        for w in full)  # stored runs never analysed: weighed from their totals
    assert body["weeks"][-1]["tolerance_km"] > 0 and body["current"]["tolerance_km"] > 0
    assert body["low_confidence_runs"] > 0
    assert len(client.get(f"/v1/athletes/{athlete_id}/load?weeks=4",
                          headers=auth).get_json()["weeks"]) == 4


def test_load_endpoint_is_the_athletes_own(client, runtime):
    athlete_id, _ = athlete_with_token(runtime)
    _, other = accounts.add_athlete(runtime, "other@example.com")
    r = client.get(f"/v1/athletes/{athlete_id}/load",
                   headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404 and r.get_json()["error"]["code"]
    assert client.get(f"/v1/athletes/{athlete_id}/load").status_code == 401


def test_load_endpoint_rejects_a_bad_weeks_value_in_the_error_shape(client, runtime):
    athlete_id, auth = athlete_with_token(runtime)
    for bad in ("0", "105", "abc"):
        r = client.get(f"/v1/athletes/{athlete_id}/load?weeks={bad}", headers=auth)
        assert r.status_code == 400, bad
        assert set(r.get_json()["error"]) == {"code", "message", "details"}


def test_openapi_describes_the_load_route_and_knee_load_km(client):
    spec = client.get("/openapi.json").get_json()
    assert "/v1/athletes/{athlete_id}/load" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert "knee_load_km" in schemas["ActivitySummary"]["properties"]
    assert "tolerance_km" in schemas["LoadWeek"]["properties"]
