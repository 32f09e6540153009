"""The notification receivers: validate, record one row per item, enqueue, answer 200."""

from __future__ import annotations

import json

from sqlalchemy import select

from service.models import InboundEvent

FILES = "/webhooks/garmin/activity-files"


def _post(client, path: str, body, client_id: str = "kg-garmin-client", **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=data, content_type="application/json",
                       headers={"garmin-client-id": client_id}, **kwargs)


def _events(runtime) -> list[InboundEvent]:
    with runtime.db.session() as s:
        return list(s.scalars(select(InboundEvent).order_by(InboundEvent.received_at)))


def _file_item(user: str, summary_id: str = "777-file") -> dict:
    return {"userId": user, "summaryId": summary_id, "fileType": "FIT",
            "callbackURL": "http://127.0.0.1:1/wellness-api/rest/activityFile?id=1&token=t",
            "startTimeInSeconds": 1620395000, "activityId": 777, "userAccessToken": "legacy"}


def test_a_file_ping_becomes_one_received_event_and_a_queued_job(client, runtime,
                                                                  garmin_user):
    resp = _post(client, FILES, {"activityFiles": [_file_item(garmin_user)]})
    assert resp.status_code == 200 and resp.get_json() == {"received": 1, "new": 1}
    [event] = _events(runtime)
    assert (event.source, event.kind, event.status) == ("garmin", "activity_file", "received")
    assert "userAccessToken" not in event.payload  # a legacy credential is never stored
    assert runtime.queue.queues["ingest"].count == 1


def test_the_same_ping_twice_is_recorded_once(client, runtime, garmin_user):
    body = {"activityFiles": [_file_item(garmin_user)]}
    assert _post(client, FILES, body).status_code == 200
    again = _post(client, FILES, body)
    assert again.status_code == 200 and again.get_json()["new"] == 0
    assert len(_events(runtime)) == 1


def test_a_ping_for_an_unknown_garmin_user_is_acknowledged_and_dropped(client, runtime):
    resp = _post(client, FILES, {"activityFiles": [_file_item("gu-nobody")]})
    assert resp.status_code == 200
    [event] = _events(runtime)
    assert event.status == "dropped" and event.last_error == "unknown garmin user"
    assert runtime.queue.queues["ingest"].count == 0


def test_malformed_bodies_get_the_400_error_shape(client, runtime, garmin_user):
    bad = [b"not json", b"[]", json.dumps({"activityFiles": "x"}).encode(),
           json.dumps({"activityFiles": [{"userId": garmin_user}]}).encode(),
           json.dumps({"somethingElse": []}).encode()]
    for body in bad:
        resp = _post(client, FILES, body)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["code"] == "invalid_notification"
    assert _events(runtime) == []


def test_a_pushed_summary_without_a_user_id_is_refused(client, runtime):
    summary = {"summaryId": "9", "startTimeInSeconds": 1620395000, "manual": True}
    resp = _post(client, "/webhooks/garmin/activities", {"activities": [summary]})
    assert resp.status_code == 400
    assert _events(runtime) == []


def test_a_notification_without_our_client_id_is_forbidden(client, runtime, garmin_user):
    body = {"activityFiles": [_file_item(garmin_user)]}
    assert _post(client, FILES, body, client_id="someone-else").status_code == 403
    resp = client.post(FILES, json=body)  # no header at all
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "unknown_client"
    assert _events(runtime) == []


def test_an_oversized_body_is_refused_with_413(client, runtime, garmin_user):
    resp = _post(client, FILES, b"{" + b" " * (10 * 1024 * 1024) + b"}")
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "payload_too_large"


def test_every_receiver_path_the_fake_uses_is_routed(client, runtime, garmin_user):
    bodies = {
        "/webhooks/garmin/activities": {"activities": [
            {"userId": garmin_user, "callbackURL": "http://127.0.0.1:1/x?token=1"}]},
        "/webhooks/garmin/deregistrations": {"deregistrations": [{"userId": garmin_user}]},
        "/webhooks/garmin/permissions": {"userPermissionsChange": [
            {"userId": garmin_user, "summaryId": "p1", "permissions": ["ACTIVITY_EXPORT"],
             "changeTimeInSeconds": 1}]},
    }
    for path, body in bodies.items():
        assert _post(client, path, body).status_code == 200, path
    kinds = sorted(e.kind for e in _events(runtime))
    assert kinds == ["activity_ping", "deregistration", "permissions"]
