"""The fake Garmin itself: it must answer like the documented API, or tests built on it lie."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from service.infra.loopback import free_port
from service.integrations.garmin.client import pkce_challenge
from service.integrations.garmin.fake.data import DATA_DIR, FIT_DIR, fit_summary
from service.integrations.garmin.fake.provider import FakeGarmin
from service.integrations.garmin.notifications import (
    parse_activities,
    parse_activity_files,
    parse_deregistrations,
    parse_permission_changes,
)
from testkit.receiver import Receiver

REDIRECT = "http://127.0.0.1:9/callback"
SMALL_RUN = "fitparse__garmin-fenix-5-run.fit"


def authorize(garmin: FakeGarmin, **overrides: str) -> requests.Response:
    params = {"response_type": "code", "client_id": garmin.client_id, "state": "s1",
              "code_challenge": pkce_challenge("v" * 50), "code_challenge_method": "S256",
              "redirect_uri": REDIRECT, **overrides}
    return requests.get(garmin.auth_url, params=params, allow_redirects=False)


def bearer(garmin: FakeGarmin, user_id: str) -> dict[str, str]:
    garmin.login_user = user_id
    code = parse_qs(urlsplit(authorize(garmin).headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": "v" * 50,
            "redirect_uri": REDIRECT, "client_id": garmin.client_id,
            "client_secret": garmin.client_secret}
    token = requests.post(garmin.token_url, data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_data_folder_resolves_from_the_checkout() -> None:
    assert (DATA_DIR / "activities" / "MANIFEST.md").is_file()
    assert (FIT_DIR / SMALL_RUN).is_file()


def test_authorize_redirects_back_with_code_and_state(garmin: FakeGarmin) -> None:
    resp = authorize(garmin)
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["s1"] and query["code"][0]


def test_a_refused_consent_redirects_with_access_denied(garmin: FakeGarmin) -> None:
    garmin.deny_consent = True
    query = parse_qs(urlsplit(authorize(garmin).headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["s1"]}


@pytest.mark.parametrize("overrides", [{"code_challenge_method": "plain"},
                                       {"code_challenge": ""}, {"client_id": "someone-else"}])
def test_authorize_requires_s256_pkce_and_our_client(garmin: FakeGarmin,
                                                     overrides: dict[str, str]) -> None:
    assert authorize(garmin, **overrides).status_code == 400


def test_token_endpoint_rejects_a_wrong_client_secret(garmin: FakeGarmin) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": garmin.client_id,
            "client_secret": "wrong"}
    resp = requests.post(garmin.token_url, data=form)
    assert (resp.status_code, resp.json()) == (401, {"error": "invalid_client"})


def test_api_calls_without_a_valid_bearer_are_401(garmin: FakeGarmin) -> None:
    resp = requests.get(garmin.api_url + "/wellness-api/rest/user/id",
                        headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert garmin.calls[-1].status == 401 and garmin.calls[-1].user_id is None


def test_summaries_derived_from_a_fit_file_use_the_device_session_totals() -> None:
    # MANIFEST: fenix 6 road run, 9386.1 m, 14 m up / 14 m down, 2021-05-07 13:43:39 UTC.
    summary = fit_summary(FIT_DIR / "msimms__20210507_run_garmin_fenix_6.fit")
    assert summary["activityType"] == "RUNNING"
    assert summary["distanceInMeters"] == pytest.approx(9386.1)
    assert (summary["totalElevationGainInMeters"], summary["totalElevationLossInMeters"]) == (
        14, 14)
    assert summary["startTimeInSeconds"] == 1620395019


def test_a_callback_with_a_wrong_token_is_not_served(garmin: FakeGarmin) -> None:
    run = garmin.add_activity(garmin.add_user(), SMALL_RUN)
    url = garmin.callback_url(run).replace("token=", "token=x")
    assert requests.get(url).status_code == 404
    assert requests.get(garmin.callback_url(run)).status_code == 200  # not consumed by the 404


def test_a_fresh_callback_serves_the_file_again(garmin: FakeGarmin) -> None:
    run = garmin.add_activity(garmin.add_user(), SMALL_RUN)
    first = garmin.callback_url(run)
    assert requests.get(first).status_code == 200
    assert requests.get(first).status_code == 410
    assert requests.get(garmin.callback_url(run, fresh=True)).content == (
        FIT_DIR / SMALL_RUN).read_bytes()


def test_backfill_rejects_ranges_over_30_days(garmin: FakeGarmin) -> None:
    headers = bearer(garmin, garmin.add_user())
    url = garmin.api_url + "/wellness-api/rest/backfill/activities"
    too_long = {"summaryStartTimeInSeconds": 0, "summaryEndTimeInSeconds": 30 * 86400 + 1}
    assert requests.get(url, params=too_long, headers=headers).status_code == 400


def test_backfill_queues_notifications_that_parse_and_reach_the_receiver(
        garmin: FakeGarmin, receiver: Receiver) -> None:
    user = garmin.add_user()
    run = garmin.add_activity(user, SMALL_RUN)
    garmin.add_activity(user, summary={"startTimeInSeconds": run.start + 86400})  # manual
    params = {"summaryStartTimeInSeconds": run.start - 10,
              "summaryEndTimeInSeconds": run.start + 2 * 86400}
    resp = requests.get(garmin.api_url + "/wellness-api/rest/backfill/activities",
                        params=params, headers=bearer(garmin, user))
    assert resp.status_code == 202 and receiver.hits == []  # nothing until delivered
    deliveries = garmin.deliver_pending()
    assert [(d.kind, d.status) for d in deliveries] == [("activities", 200),
                                                        ("activityFiles", 200)]
    pushed, files = (json.loads(r["body"]) for r in receiver.hits)
    assert [r["path"] for r in receiver.hits] == ["/webhooks/garmin/activities",
                                                   "/webhooks/garmin/activity-files"]
    assert receiver.hits[0]["headers"]["garmin-client-id"] == garmin.client_id
    assert len(parse_activities(pushed).summaries) == 2
    [notice] = parse_activity_files(files)  # the manual entry has no file
    assert requests.get(notice.callback_url).content == (FIT_DIR / SMALL_RUN).read_bytes()


def test_deregistration_and_permission_notifications_use_the_documented_shapes(
        garmin: FakeGarmin, receiver: Receiver) -> None:
    user = garmin.add_user()
    garmin.send_permissions_change(user, {"HEALTH_EXPORT"})
    garmin.send_deregistration(user)
    perms, dereg = (r["body"] for r in receiver.hits)
    assert not parse_permission_changes(perms)[0].allows_activity_export
    assert [d.user_id for d in parse_deregistrations(dereg)] == [user]
    resp = requests.get(garmin.api_url + "/wellness-api/rest/user/permissions",
                        headers=bearer(garmin, user))
    assert resp.json() == ["HEALTH_EXPORT"]


def test_an_unreachable_receiver_is_recorded_not_raised(garmin: FakeGarmin) -> None:
    port = free_port()  # nothing listens there
    garmin.receivers = {"deregistrations": f"http://127.0.0.1:{port}/webhooks/garmin/dereg"}
    delivery = garmin.send_deregistration("u-1")
    assert delivery.status is None and delivery.error == "ConnectionError"
    assert garmin.deliveries == [delivery]
