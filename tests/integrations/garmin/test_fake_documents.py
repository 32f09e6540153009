"""The fake Garmin against Garmin's documents: every notification it sends and every answer it
gives has the shape of the examples quoted in its `documents` (Activity API v1.2.3, Start
Guide v1.1.0, OAuth2 PKCE spec). If the fake drifts from the documents, this fails, not the
service's tests that rely on it. Our own parsers are also fed the documents' examples verbatim."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import requests

from service.integrations.garmin.fake import documents as doc
from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.garmin.notifications import (
    parse_activities,
    parse_activity_files,
    parse_deregistrations,
    parse_permission_changes,
)
from testkit.receiver import Receiver
from tests.integrations.garmin.test_fake import REDIRECT, SMALL_RUN, authorize

BACKFILL = "/wellness-api/rest/backfill/activities"


def _kind(value: object) -> type:
    return float if isinstance(value, int | float) and not isinstance(value, bool) else type(value)


def assert_like(actual: dict, example: dict, *, optional: dict | None = None) -> None:
    """Same keys as the documented example (plus documented optional ones), same JSON types
    (integers and floats are both "number")."""
    allowed = {**{k: type(v) for k, v in example.items()}, **(optional or {})}
    assert set(example) <= set(actual), f"missing: {set(example) - set(actual)}"
    assert set(actual) <= set(allowed), f"undocumented: {set(actual) - set(allowed)}"
    for key, value in actual.items():
        want = allowed[key]
        wants = want if isinstance(want, tuple) else (want,)
        assert any(_kind(value) is _kind(w()) if w is not bool else isinstance(value, bool)
                   for w in wants), f"{key}: {value!r} is not {want}"


def _token(garmin: FakeGarmin, user_id: str) -> dict:
    garmin.login_user = user_id
    code = parse_qs(urlsplit(authorize(garmin).headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": "v" * 50,
            "redirect_uri": REDIRECT, "client_id": garmin.client_id,
            "client_secret": garmin.client_secret}
    return requests.post(garmin.token_url, data=form, timeout=5).json()


def _get(garmin: FakeGarmin, path: str, token: str, **params) -> requests.Response:
    return requests.get(garmin.api_url + path, params=params, timeout=5,
                        headers={"Authorization": f"Bearer {token}"})


def _sent(receiver: Receiver) -> dict:
    return json.loads(receiver.hits[-1]["body"])


# -- our parsers read the documents' own examples ---------------------------------------------------


def test_the_documented_examples_parse_with_our_parsers() -> None:
    assert parse_activities(doc.ACT_PING).pings[0].user_id == "4aacafe82427c251df9c9592d0c06768"
    [summary] = parse_activities(doc.ACT_PUSH).summaries
    assert (summary.summary_id, summary.distance_in_meters) == ("EXAMPLE_12345", 519818.125)
    [notice] = parse_activity_files(doc.ACT_ACTIVITY_FILES)
    assert (notice.provider_id, notice.file_type) == ("5001904988", "FIT")
    assert parse_deregistrations(doc.START_DEREGISTRATION)[0].user_id.startswith("4aac")
    [change] = parse_permission_changes(doc.START_PERMISSIONS_CHANGE)
    assert change.allows_activity_export and change.change_time_in_seconds == 1613065860


# -- notifications the fake sends ------------------------------------------------------------------


def test_ping_and_push_notifications_have_the_documented_shape(garmin, receiver) -> None:
    user = garmin.add_user()
    run = garmin.add_activity(user, SMALL_RUN)
    garmin.send_activities_ping(user, 1444937651, 1444937902)
    [ping] = _sent(receiver)["activities"]
    assert_like(ping, doc.ACT_PING["activities"][0])
    ours, theirs = urlsplit(ping["callbackURL"]), urlsplit(doc.ACT_PING["activities"][0]
                                                           ["callbackURL"])
    assert ours.path == theirs.path and set(parse_qs(ours.query)) == set(parse_qs(theirs.query))
    garmin.send_activities_push(user, [run])
    [pushed] = _sent(receiver)["activities"]
    assert set(doc.ACT_PUSH["activities"][0]) - {"activeKilocalories",
                                                 "averageSpeedInMetersPerSecond",
                                                 "averagePaceInMinutesPerKilometer"} <= set(pushed)
    assert_like(pushed, {}, optional=doc.ACT_SUMMARY_FIELDS)


def test_activity_files_pings_have_the_documented_shape(garmin, receiver) -> None:
    user = garmin.add_user()
    garmin.send_activity_files_ping(user, [garmin.add_activity(user, SMALL_RUN)])
    [item] = _sent(receiver)["activityFiles"]
    assert_like(item, doc.ACT_ACTIVITY_FILES["activityFiles"][0],
                optional=doc.ACT_ACTIVITY_FILES_OPTIONAL)
    assert item["summaryId"].endswith("-file") and item["fileType"] in ("FIT", "TCX", "GPX")


def test_user_notifications_have_the_documented_shape(garmin, receiver) -> None:
    user = garmin.add_user()
    garmin.send_deregistration(user)
    assert_like(_sent(receiver)["deregistrations"][0], doc.START_DEREGISTRATION
                ["deregistrations"][0])
    garmin.send_permissions_change(user, {"HEALTH_EXPORT"})
    assert_like(_sent(receiver)["userPermissionsChange"][0],
                doc.START_PERMISSIONS_CHANGE["userPermissionsChange"][0])


# -- answers the fake gives ------------------------------------------------------------------------


def test_token_user_and_permission_answers_have_the_documented_shape(garmin) -> None:
    user = garmin.add_user()
    tokens = _token(garmin, user)
    assert_like(tokens, doc.PKCE_TOKEN_RESPONSE)
    assert tokens["refresh_token_expires_in"] == 7775998 and tokens["expires_in"] == 86400
    assert_like(_get(garmin, "/wellness-api/rest/user/id", tokens["access_token"]).json(),
                doc.START_USER_ID)
    granted = _get(garmin, "/wellness-api/rest/user/permissions", tokens["access_token"]).json()
    assert isinstance(granted, list) and set(granted) <= set(doc.START_PERMISSIONS_RESPONSE)


def test_backfill_answers_202_empty_then_409_like_appendix_b(garmin) -> None:
    token = _token(garmin, garmin.add_user())["access_token"]
    week = {"summaryStartTimeInSeconds": 1452384000, "summaryEndTimeInSeconds": 1453248000}
    first = _get(garmin, BACKFILL, token, **week)
    assert (first.status_code, first.content) == (202, b"")
    again = _get(garmin, BACKFILL, token, **week)
    assert again.status_code == 409
    assert_like(again.json(), doc.ACT_409_EXAMPLE)
    pattern = r"\[[0-9a-f-]+\]duplicate backfill processed at \S+ \[\S+ to \S+\]"
    assert re.fullmatch(pattern, doc.ACT_409_EXAMPLE["errorMessage"])
    assert re.fullmatch(pattern, again.json()["errorMessage"])
    too_long = {"summaryStartTimeInSeconds": 0, "summaryEndTimeInSeconds": 30 * 86400 + 1}
    assert _get(garmin, BACKFILL, token, **too_long).status_code == 400


def test_errors_use_appendix_b_codes_and_body(garmin) -> None:
    user = garmin.add_user()
    token = _token(garmin, user)["access_token"]
    run = garmin.add_activity(user, SMALL_RUN)
    window = {"summaryStartTimeInSeconds": 1, "summaryEndTimeInSeconds": 2}
    garmin.users[user].permissions = {"HEALTH_EXPORT"}  # sharing off: the token stays valid
    off = _get(garmin, BACKFILL, token, **window)
    assert off.status_code == 412 and _get(garmin, "/wellness-api/rest/user/id",
                                           token).status_code == 200
    garmin.users[user].permissions = {"ACTIVITY_EXPORT"}
    garmin.revoke_user(user)  # consent removed in Garmin Connect
    gone = _get(garmin, BACKFILL, token, **window)
    assert gone.status_code == 403 and requests.get(garmin.callback_url(run),
                                                    timeout=5).status_code == 403
    bad = _get(garmin, BACKFILL, "never-issued", **window)
    assert bad.status_code == 401
    for resp in (off, gone, bad):
        assert resp.status_code in doc.ACT_ERROR_STATUSES
        assert_like(resp.json(), doc.ACT_ERROR_BODY)


def test_a_deregistration_by_us_answers_204_then_notifies_and_refuses(garmin, receiver) -> None:
    user = garmin.add_user()
    token = _token(garmin, user)["access_token"]
    resp = requests.delete(garmin.api_url + "/wellness-api/rest/user/registration", timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
    assert (resp.status_code, resp.content) == (204, b"")
    garmin.deliver_pending()  # "a final User Deregistration notification will be sent"
    assert_like(_sent(receiver)["deregistrations"][0],
                doc.START_DEREGISTRATION["deregistrations"][0])
    # "... any attempts to request data with that user ID will be rejected as unauthorized"
    assert _get(garmin, "/wellness-api/rest/user/id", token).status_code == 401


def test_refresh_rotates_and_a_refresh_token_dies_after_refresh_token_expires_in(garmin) -> None:
    user = garmin.add_user()
    tokens = _token(garmin, user)
    form = {"grant_type": "refresh_token", "client_id": garmin.client_id,
            "client_secret": garmin.client_secret}
    renewed = requests.post(garmin.token_url, timeout=5,
                            data={**form, "refresh_token": tokens["refresh_token"]}).json()
    assert renewed["refresh_token"] != tokens["refresh_token"]  # a new one every refresh
    spent = requests.post(garmin.token_url, timeout=5,
                          data={**form, "refresh_token": tokens["refresh_token"]})
    assert spent.json() == {"error": "invalid_grant"}
    garmin.age_tokens(user, tokens["refresh_token_expires_in"] + 1)
    dead = requests.post(garmin.token_url, timeout=5,
                         data={**form, "refresh_token": renewed["refresh_token"]})
    assert (dead.status_code, dead.json()) == (400, {"error": "invalid_grant"})
