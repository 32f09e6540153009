"""The event catalog: every type has a valid JSON Schema, and real payloads match it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from workers.notify import catalog
from workers.notify.webhooks import build_payload

WHEN = datetime(2026, 5, 1, 7, 30, tzinfo=UTC)
SAMPLES = {
    "finding.created": {
        "id": "fnd_01", "athlete_id": "ath_01", "activity_id": None, "rule": "weekly_jump",
        "severity": "caution", "activity": None, "date": "2026-05-01", "value": 0.42,
        "threshold": 0.30, "message": "This week is 42% above two weeks ago.",
        "evidence": {"this_week_m": 42000, "base_week_m": 29500}, "sources": ["strava", "upload"],
    },
    "activity.analyzed": {
        "activity_id": "act_01", "athlete_id": "ath_01", "source": "garmin", "sport": "running",
        "sub_sport": "trail", "start_time": "2026-05-01T06:00:00Z", "distance_m": 14210.5,
        "moving_time_s": 4620.0, "indoor": False, "elevation_loss_m": 512.0,
        "finding_ids": ["fnd_01"],
    },
    "athlete.connected": {"athlete_id": "ath_01", "provider": "strava",
                          "connected_at": "2026-05-01T06:00:00Z",
                          "scopes": ["activity:read_all", "activity:write"]},
    "athlete.disconnected": {"athlete_id": "ath_01", "provider": "garmin",
                             "disconnected_at": "2026-05-02T06:00:00Z", "reason": "deauthorized"},
    "finding.withdrawn": {"id": "fnd_01", "athlete_id": "ath_01", "activity_id": None,
                          "rule": "weekly_jump", "date": "2026-05-01", "reason": "no_longer_holds",
                          "withdrawn_at": "2026-05-03T06:00:00Z", "sources": ["upload"]},
    "endpoint.test": {"endpoint_id": "ep_01", "message": "This is a test event from kneeguard."},
}


def test_the_catalog_lists_the_documented_event_types():
    assert catalog.event_types() == sorted(SAMPLES)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_each_schema_file_is_valid_json_schema_for_its_type(event_type):
    schema = catalog.schema(event_type)
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"] == {"const": event_type}
    assert catalog.CATALOG[event_type].description


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_a_built_payload_validates_against_its_schema_and_a_broken_one_does_not(event_type):
    payload = json.loads(build_payload(event_type, SAMPLES[event_type], WHEN))
    catalog.validate_payload(event_type, payload)  # raises PayloadInvalid on a mismatch
    broken = copy.deepcopy(payload)
    broken["type"] = "something.else"  # the schema pins the type: the check is not vacuous
    with pytest.raises(catalog.PayloadInvalid):
        catalog.validate_payload(event_type, broken)


@pytest.mark.parametrize("path,value", [
    (("severity",), "critical"), (("sources",), []), (("sources",), ["dropbox"]),
    (("date",), "1 May 2026"), (("value",), "1.42"), (("id",), 17),
])
def test_a_finding_that_breaks_the_contract_is_rejected(path, value):
    data = copy.deepcopy(SAMPLES["finding.created"])
    data[path[0]] = value
    with pytest.raises(catalog.PayloadInvalid, match=path[0]):
        catalog.validate_payload("finding.created", build_payload("finding.created", data, WHEN))


def test_a_missing_finding_field_is_rejected():
    data = {k: v for k, v in SAMPLES["finding.created"].items() if k != "message"}
    with pytest.raises(catalog.PayloadInvalid, match="message"):
        catalog.validate_payload("finding.created", build_payload("finding.created", data, WHEN))


def test_a_payload_sent_under_the_wrong_type_is_rejected():
    body = build_payload("athlete.connected", SAMPLES["athlete.connected"], WHEN)
    with pytest.raises(catalog.PayloadInvalid):
        catalog.validate_payload("athlete.disconnected", body)


def test_extra_data_fields_are_allowed_so_the_contract_can_grow():
    data = dict(SAMPLES["finding.created"], confidence="high")
    payload = json.loads(build_payload("finding.created", data, WHEN))
    catalog.validate_payload("finding.created", payload)  # raises PayloadInvalid on a mismatch
    assert payload["data"]["confidence"] == "high"  # carried, not stripped
