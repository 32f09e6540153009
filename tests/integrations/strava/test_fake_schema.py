"""The fake answers in Strava's own schema: every response validates against the models stravalib
generates from Strava's published model JSON (`stravalib.strava_model`), in strict JSON mode, and
the only fields outside those models are ones real Strava responses carry too (the samples in
data/strava-api)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pydantic import BaseModel
from stravalib import strava_model as sm

from service.integrations.strava.fake.data import DATA_DIR, load_sample_streams
from service.integrations.strava.fake.provider import FakeStrava

START = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def _real_activity_examples() -> list[dict]:
    """Real activity JSON: the samples in data/strava-api and the examples in Strava's swagger."""
    bodies = [json.loads(p.read_text()) for p in DATA_DIR.glob("*activit*.json")]
    swagger = json.loads((DATA_DIR / "strava_swagger.json").read_text())
    for path in ("/activities/{id}", "/athlete/activities"):
        ok = swagger["paths"][path]["get"]["responses"]["200"]
        bodies.append(ok["examples"]["application/json"])
    items = [i for b in bodies for i in (b if isinstance(b, list) else [b])]
    return [i for i in items if isinstance(i, dict) and "start_date" in i]


def _real_extra_fields(model: type[BaseModel]) -> set[str]:
    """Top-level keys real activities carry that the generated model does not declare
    (resource_state, utc_offset, has_heartrate…): the fake may send those, nothing else."""
    keys = set().union(*(set(i) for i in _real_activity_examples()))
    return keys - set(model.model_fields)


@pytest.fixture
def fake():
    with FakeStrava() as f:
        athlete = f.add_athlete()
        f.add_activity(athlete, START, 8000.0)
        f.add_activity(athlete, START + timedelta(days=1), 5000.0, trainer=True)
        f.add_activity(athlete, START + timedelta(days=2), 12000.0, sport_type="TrailRun",
                       description="Hilly one")
        f.add_activity(athlete, START + timedelta(days=3), 20000.0, manual=True,
                       sport_type="Hike")
        f.add_activity(athlete, START + timedelta(days=4), 0.0,
                       streams=load_sample_streams("run_2451375851"))
        f.token = f.issue_tokens(athlete, frozenset({"read", "activity:read_all",
                                                     "activity:write"}))
        yield f


def _get(fake: FakeStrava, path: str, **params) -> requests.Response:
    resp = requests.get(f"{fake.api_url}{path}", params=params, timeout=5,
                        headers={"Authorization": f"Bearer {fake.token['access_token']}"})
    return resp


def test_activity_list_items_are_strict_summary_activities(fake):
    items = _get(fake, "/athlete/activities", per_page=50).json()
    assert len(items) == 5
    allowed = set(sm.SummaryActivity.model_fields) | _real_extra_fields(sm.SummaryActivity)
    for item in items:
        sm.SummaryActivity.model_validate_json(json.dumps(item), strict=True)
        assert set(item) <= allowed, set(item) - allowed
        assert "description" not in item  # detailed-only field


def test_each_activity_is_a_strict_detailed_activity(fake):
    allowed = set(sm.DetailedActivity.model_fields) | _real_extra_fields(sm.DetailedActivity)
    for activity_id in fake.activities:
        resp = _get(fake, f"/activities/{activity_id}")
        a = sm.DetailedActivity.model_validate_json(resp.text, strict=True)
        assert a.id == activity_id
        assert set(resp.json()) <= allowed, set(resp.json()) - allowed


def test_streams_validate_as_a_stream_set_for_synthetic_and_real_samples(fake):
    keys = "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,moving,grade_smooth"
    checked = 0
    for activity_id, activity in fake.activities.items():
        resp = _get(fake, f"/activities/{activity_id}/streams", keys=keys, key_by_type="true")
        if activity["manual"]:
            assert resp.status_code == 404
            sm.Fault.model_validate_json(resp.text, strict=True)
            continue
        streams = sm.StreamSet.model_validate_json(resp.text, strict=True)
        assert streams.time is not None and streams.distance is not None
        assert len(streams.time.data) == len(streams.distance.data) > 100
        assert (streams.latlng is None) == activity["trainer"]
        checked += 1
    assert checked == 4


def test_athlete_and_token_athlete_match_the_athlete_models(fake):
    sm.DetailedAthlete.model_validate_json(_get(fake, "/athlete").text, strict=True)
    athlete_id = next(iter(fake.athletes))
    redirect = "http://127.0.0.1:9/cb"
    url = (f"{fake.oauth_url}/authorize?client_id={fake.client_id}&response_type=code"
           f"&redirect_uri={redirect}&scope=activity:read_all")
    code = fake.authorize(url, athlete=athlete_id)["code"]
    body = requests.post(f"{fake.oauth_url}/token", timeout=5, data={
        "client_id": fake.client_id, "client_secret": fake.client_secret, "code": code,
        "grant_type": "authorization_code"}).json()
    sm.SummaryAthlete.model_validate(body["athlete"], strict=False)
    assert body["athlete"]["id"] == athlete_id


def test_error_bodies_are_strava_faults(fake):
    fake.force_429()
    for resp in (_get(fake, "/activities/1"),  # 429 first (forced), then 404
                 _get(fake, "/activities/1"),
                 requests.get(f"{fake.api_url}/athlete", timeout=5)):
        assert resp.status_code in (401, 404, 429)
        fault = sm.Fault.model_validate_json(resp.text, strict=True)
        assert fault.errors and fault.message
