"""Parsers for the bodies Garmin POSTs to our receivers (shapes from apis.md §7 / GARMIN-ACT)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from service.integrations.garmin.notifications import (
    NotificationError,
    garmin_sport,
    is_from_our_app,
    parse_activities,
    parse_activity_details,
    parse_activity_files,
    parse_deregistrations,
    parse_permission_changes,
    summary_to_remote_activity,
)

# GARMIN-ACT §7.4 example, plus the legacy userAccessToken older payloads carried.
ACTIVITY_FILES = json.dumps({"activityFiles": [{
    "userId": "4aacafe82427c251df9c9592d0c93e55", "userAccessToken": "legacy-token",
    "summaryId": "10010727180-file", "fileType": "FIT",
    "callbackURL": "https://apis.garmin.com/wellness-api/rest/activityFile?id=XXX&token=YYY",
    "activityType": "RUNNING", "deviceName": "Garmin Fenix 8", "startTimeInSeconds": 1617717902,
    "activityId": 10010727180, "activityName": "Morning Run", "manual": False}]}).encode()

TRAIL_PUSH = {
    "userId": "4aacafe82427c251df9c9592d0c93e55", "summaryId": "10010727180",
    "activityId": 10010727180, "activityName": "Hill reps", "activityType": "TRAIL_RUNNING",
    "startTimeInSeconds": 1617717902, "startTimeOffsetInSeconds": 7200,
    "durationInSeconds": 4947, "averageSpeedInMetersPerSecond": 2.46,
    "averageHeartRateInBeatsPerMinute": 151, "averageRunCadenceInStepsPerMinute": 166.0,
    "distanceInMeters": 12167.64, "activeKilocalories": 905, "deviceName": "fenix 6X Pro",
    "startingLatitudeInDegree": 46.37, "startingLongitudeInDegree": 8.02, "steps": 13200,
    "totalElevationGainInMeters": 346.0, "totalElevationLossInMeters": 351.0,
    "isParent": False, "manual": False, "isWebUpload": False,
}
MANUAL_PUSH = {
    "userId": "u-2", "summaryId": "998", "activityType": "RUNNING", "manual": True,
    "startTimeInSeconds": 1767225600, "durationInSeconds": 3600, "distanceInMeters": 10000.0,
    "totalElevationLossInMeters": 80.0,
}


def test_activity_files_ping_is_parsed_and_ignores_the_legacy_token() -> None:
    [notice] = parse_activity_files(ACTIVITY_FILES)
    assert notice.user_id == "4aacafe82427c251df9c9592d0c93e55"
    assert notice.file_type == "FIT" and not notice.manual
    assert notice.callback_url.endswith("activityFile?id=XXX&token=YYY")
    assert notice.provider_id == "10010727180"
    assert notice.dedupe_key == ("garmin:activityFiles:4aacafe82427c251df9c9592d0c93e55:"
                                 "10010727180-file")
    assert "legacy-token" not in repr(notice)


def test_a_file_notice_without_activity_id_keys_on_its_summary_id() -> None:
    body = json.loads(ACTIVITY_FILES)
    del body["activityFiles"][0]["activityId"]
    assert parse_activity_files(body)[0].provider_id == "10010727180"


def test_file_notice_and_summary_of_one_activity_share_a_provider_id() -> None:
    [notice] = parse_activity_files(ACTIVITY_FILES)
    [summary] = parse_activities({"activities": [TRAIL_PUSH]}).summaries
    assert notice.provider_id == summary.provider_id


def test_activities_push_becomes_a_remote_activity_with_device_totals() -> None:
    [summary] = parse_activities({"activities": [TRAIL_PUSH]}).summaries
    remote = summary_to_remote_activity(summary)
    assert remote.provider_id == "10010727180"
    assert remote.start_time == datetime(2021, 4, 6, 14, 5, 2, tzinfo=UTC)  # offset not applied
    assert (remote.sport, remote.sub_sport) == ("running", "trail")
    assert remote.distance_m == pytest.approx(12167.64)
    assert remote.moving_time_s == 4947
    assert (remote.elevation_gain_m, remote.elevation_loss_m) == (346.0, 351.0)
    assert remote.has_gps and not remote.manual
    assert remote.raw["deviceName"] == "fenix 6X Pro"  # kept for "Garmin [device]" attribution
    assert remote.raw["steps"] == 13200  # unmodelled fields survive


def test_a_manual_summary_has_no_gps_but_keeps_its_elevation_loss() -> None:
    [summary] = parse_activities({"activities": [MANUAL_PUSH]}).summaries
    remote = summary_to_remote_activity(summary)
    assert remote.manual and not remote.has_gps
    assert remote.elevation_loss_m == 80.0 and remote.elevation_gain_m is None


def test_activities_body_separates_pings_from_pushed_summaries() -> None:
    ping = {"userId": "u-1", "callbackURL": "https://apis.garmin.com/wellness-api/rest/"
            "activities?uploadStartTimeInSeconds=1&uploadEndTimeInSeconds=2&token=t"}
    parsed = parse_activities(json.dumps({"activities": [ping, TRAIL_PUSH]}))
    assert [p.user_id for p in parsed.pings] == ["u-1"]
    assert [s.summary_id for s in parsed.summaries] == ["10010727180"]


def test_manually_updated_activities_use_the_same_parser() -> None:
    parsed = parse_activities({"manuallyUpdatedActivities": [MANUAL_PUSH]})
    assert parsed.summaries[0].manual


def test_activity_details_yield_their_nested_summary() -> None:
    summary = {k: v for k, v in TRAIL_PUSH.items() if k not in ("userId", "summaryId")}
    body = {"activityDetails": [{"userId": "u-9", "summaryId": "10010727180-detail",
                                 "activityId": 10010727180, "summary": summary,
                                 "samples": [{"startTimeInSeconds": 1617717902}], "laps": []}]}
    [parsed] = parse_activity_details(body)
    assert (parsed.user_id, parsed.provider_id) == ("u-9", "10010727180")
    assert parsed.total_elevation_loss_in_meters == 351.0


def test_deregistrations_list_user_ids() -> None:
    body = b'{"deregistrations":[{"userId":"a"},{"userId":"b","userAccessToken":"old"}]}'
    assert [d.user_id for d in parse_deregistrations(body)] == ["a", "b"]


def test_permission_change_without_activity_export_stops_ingestion() -> None:
    body = {"userPermissionsChange": [
        {"userId": "a", "summaryId": "x1", "permissions": ["HEALTH_EXPORT", "WORKOUT_IMPORT"],
         "changeTimeInSeconds": 1767225600},
        {"userId": "b", "summaryId": "x2", "permissions": ["ACTIVITY_EXPORT"],
         "changeTimeInSeconds": 1767225600}]}
    changes = parse_permission_changes(body)
    assert [c.allows_activity_export for c in changes] == [False, True]
    assert changes[0].permissions == {"HEALTH_EXPORT", "WORKOUT_IMPORT"}


@pytest.mark.parametrize(("activity_type", "expected"), [
    ("RUNNING", ("running", None)),
    ("TRAIL_RUNNING", ("running", "trail")),
    ("TREADMILL_RUNNING", ("running", "treadmill")),
    ("TRACK_RUNNING", ("running", "track")),
    ("INDOOR_RUNNING", ("running", "indoor")),
    ("VIRTUAL_RUN", ("running", "virtual")),
    ("STREET_RUNNING", ("running", "street")),
    ("ULTRA_RUN", ("running", "ultra")),
    ("OBSTACLE_RUN", ("running", "obstacle")),
    ("ROAD_BIKING", ("cycling", None)),
    ("INDOOR_CYCLING", ("cycling", None)),
    ("WALKING", ("walking", None)),
    ("HIKING", ("hiking", None)),
    ("LAP_SWIMMING", ("swimming", None)),
    ("YOGA", ("yoga", None)),
    (None, (None, None)),
])
def test_activity_types_map_to_sport_and_sub_sport(activity_type: str | None,
                                                   expected: tuple) -> None:
    assert garmin_sport(activity_type) == expected


def test_a_treadmill_run_has_no_gps_even_with_a_start_position() -> None:
    push = {**TRAIL_PUSH, "activityType": "TREADMILL_RUNNING"}
    [summary] = parse_activities({"activities": [push]}).summaries
    assert not summary_to_remote_activity(summary).has_gps


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    b'{"activities": []}',  # wrong kind for the activityFiles receiver
    b'{"activityFiles": {"userId": "a"}}',  # not a list
    b'{"activityFiles": [{"userId": "a", "summaryId": "1-file", "fileType": "FIT",'
    b' "startTimeInSeconds": 1}]}',  # no callbackURL
    b'{"activityFiles": [{"userId": "", "summaryId": "1-file", "fileType": "FIT",'
    b' "callbackURL": "https://apis.garmin.com/x", "startTimeInSeconds": 1}]}',  # empty user
    b'{"activityFiles": [{"userId": "a", "summaryId": "1-file", "fileType": "FIT",'
    b' "callbackURL": "https://apis.garmin.com/x", "startTimeInSeconds": 99999999999999}]}',
    b'{"activityFiles": ["a string"]}',
])
def test_malformed_activity_files_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(NotificationError):
        parse_activity_files(body)


def test_malformed_items_of_other_kinds_are_rejected() -> None:
    with pytest.raises(NotificationError):
        parse_deregistrations({"deregistrations": [{}]})
    with pytest.raises(NotificationError):
        parse_permission_changes({"userPermissionsChange": [{"userId": "a", "permissions": 3}]})
    with pytest.raises(NotificationError):
        parse_activities({"activities": [{"summaryId": "1"}]})  # push without a start time
    with pytest.raises(NotificationError):
        parse_activity_details({"activityDetails": [{"summaryId": "1"}]})


def test_the_client_id_header_must_match_our_app() -> None:
    assert is_from_our_app("kg-client", "kg-client")
    assert not is_from_our_app("kg-client-2", "kg-client")
    assert not is_from_our_app(None, "kg-client")
    assert not is_from_our_app("", "")
