"""Standard Webhooks signing, payloads, the retry schedule and single delivery attempts."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from service.domain import webhook_channel
from workers.notify import webhooks as wh
from workers.notify.catalog import validate_payload

FINDING = {
    "id": "fnd_01", "athlete_id": "ath_01", "activity_id": "act_01", "rule": "single_run_spike",
    "severity": "caution", "activity": "act_01", "date": "2026-05-01", "value": 1.42,
    "threshold": 1.30, "message": "Longest run in 30 days by 42%.",
    "evidence": {"longest_30d_m": 14000}, "sources": ["upload"],
}
EVENT_TIME = datetime(2026, 5, 1, 7, 30, tzinfo=UTC)


def _body() -> bytes:
    return wh.build_payload("finding.created", FINDING, EVENT_TIME)


def test_new_secrets_are_whsec_prefixed_32_random_bytes():
    a, b = wh.new_secret(), wh.new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 32


def test_both_overlapping_secrets_verify_during_rotation():
    new, old, stranger = wh.new_secret(), wh.new_secret(), wh.new_secret()
    body = _body()
    headers = wh.build_headers("msg_abc", datetime.now(UTC), body, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers)["data"]["id"] == "fnd_01"
    assert Webhook(old).verify(body, headers)["type"] == "finding.created"
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers)


def test_a_non_utc_timestamp_is_signed_at_the_right_instant():
    # standardwebhooks' sign() would treat 09:00+02:00 as 09:00 UTC; we convert first.
    now = datetime.now(timezone(timedelta(hours=2)))
    secret = wh.new_secret()
    headers = wh.build_headers("msg_tz", now, _body(), [secret])
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    Webhook(secret).verify(_body(), headers)


@pytest.mark.parametrize("bad", ["msg.1", "", "a b", "x" * 129])
def test_message_ids_that_could_break_the_signed_string_are_rejected(bad):
    with pytest.raises(ValueError):
        wh.build_headers(bad, datetime.now(UTC), b"{}", [wh.new_secret()])


def test_naive_timestamps_are_rejected():
    with pytest.raises(ValueError):
        wh.build_headers("msg_1", datetime.now(), b"{}", [wh.new_secret()])


def test_the_payload_is_compact_stable_and_matches_the_catalog_schema():
    body = _body()
    assert body == _body()
    assert b", " not in body and b": " not in body
    doc = json.loads(body)
    assert doc["timestamp"] == "2026-05-01T07:30:00Z" and doc["data"] == FINDING
    validate_payload("finding.created", body)


def test_message_ids_are_unique_and_header_safe():
    ids = {wh.new_message_id() for _ in range(200)}
    assert len(ids) == 200
    for msg_id in ids:
        wh.build_headers(msg_id, datetime.now(UTC), b"{}", [wh.new_secret()])


def test_each_retry_step_stays_within_twenty_percent_jitter():
    rng = random.Random(7)
    for attempt, step in enumerate(wh.RETRY_SCHEDULE, start=1):
        delays = [wh.next_attempt_delay(attempt, rng=rng) for _ in range(200)]
        assert min(delays) >= step * 0.8 and max(delays) <= step * 1.2
        assert max(delays) - min(delays) > step * 0.2  # the jitter really spreads retries


def test_the_schedule_ends_after_the_eighth_attempt():
    assert wh.RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert wh.next_attempt_delay(len(wh.RETRY_SCHEDULE) + 1) is None
    assert wh.next_attempt_delay(0) is None


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempt,header,low,high", [
    (1, "120", 120, 120),  # longer than the 5 s step: honoured
    (3, "1", 1800 * 0.8, 1800 * 1.2),  # shorter than the step: the step wins
    (1, "9999999", wh.RETRY_AFTER_CAP, wh.RETRY_AFTER_CAP),  # capped
    (1, format_datetime(NOW + timedelta(minutes=10), usegmt=True), 600, 600),
    (1, format_datetime(NOW - timedelta(minutes=10), usegmt=True), 4, 6),  # in the past
    (1, "soon", 4, 6), (1, "-5", 4, 6), (1, "", 4, 6),
])
def test_retry_after_can_only_lengthen_the_wait(attempt, header, low, high):
    delay = wh.next_attempt_delay(attempt, header, random.Random(1), now=NOW)
    assert low <= delay <= high


def test_retry_after_never_extends_past_the_last_attempt():
    assert wh.next_attempt_delay(8, "60") is None


@pytest.mark.parametrize("outcome,expected", [
    (200, "ok"), (204, "ok"), (299, "ok"), (301, "retry"), (302, "retry"), (400, "retry"),
    (404, "retry"), (429, "retry"), (500, "retry"), (503, "retry"), (410, "disabled"),
    (TimeoutError("slow"), "retry"),
])
def test_only_2xx_succeeds_and_only_410_disables(outcome, expected):
    assert wh.classify(outcome) == expected


def test_a_delivery_verifies_at_the_receiver_with_both_secrets(receiver):
    new, old = wh.new_secret(), wh.new_secret()
    receiver.secrets = [new, old]
    result = webhook_channel.send_attempt(receiver.url + "/hook", [new, old], "msg_1", _body(),
                             allow_loopback=True)
    assert (result.status, result.code, result.next_delay_s) == ("ok", 204, None)
    assert receiver.verified_by == [[0, 1]]
    assert receiver.recorder.hits[0]["body"] == _body()


def test_retries_keep_the_webhook_id_and_refresh_the_timestamp(receiver):
    secret = wh.new_secret()
    receiver.secrets = [secret]
    receiver.status = "503 Service Unavailable"
    first = webhook_channel.send_attempt(receiver.url, [secret], "msg_same", _body(), attempt_number=1,
                            allow_loopback=True, now=datetime.now(UTC) - timedelta(seconds=60))
    receiver.status = "200 OK"
    second = webhook_channel.send_attempt(receiver.url, [secret], "msg_same", _body(), attempt_number=2,
                             allow_loopback=True)
    assert (first.status, first.code) == ("retry", 503) and 4 <= first.next_delay_s <= 6
    assert second.status == "ok"
    ids = [h["headers"]["webhook-id"] for h in receiver.recorder.hits]
    stamps = [int(h["headers"]["webhook-timestamp"]) for h in receiver.recorder.hits]
    assert ids == ["msg_same", "msg_same"] and stamps[1] > stamps[0]


def test_410_disables_the_endpoint(receiver):
    secret = wh.new_secret()
    receiver.secrets = [secret]
    receiver.status = "410 Gone"
    result = webhook_channel.send_attempt(receiver.url, [secret], "msg_2", _body(), allow_loopback=True)
    assert (result.status, result.code, result.next_delay_s) == ("disabled", 410, None)


def test_retry_after_from_the_receiver_sets_the_next_delay(receiver):
    secret = wh.new_secret()
    receiver.secrets = [secret]
    receiver.status = "429 Too Many Requests"
    receiver.extra_headers = [("Retry-After", "120")]
    result = webhook_channel.send_attempt(receiver.url, [secret], "msg_3", _body(), allow_loopback=True)
    assert (result.status, result.next_delay_s) == ("retry", 120)
    assert result.snippet.startswith("429")


def test_the_last_failed_attempt_is_exhausted(receiver):
    secret = wh.new_secret()
    receiver.secrets = [secret]
    receiver.status = "500 Internal Server Error"
    result = webhook_channel.send_attempt(receiver.url, [secret], "msg_4", _body(), allow_loopback=True,
                             attempt_number=len(wh.RETRY_SCHEDULE) + 1)
    assert result.exhausted and result.code == 500


def test_production_mode_refuses_a_loopback_receiver_without_contacting_it(receiver):
    result = webhook_channel.send_attempt(receiver.url, [wh.new_secret()], "msg_5", _body())
    assert result.status == "retry" and result.code is None
    assert "loopback" in result.error
    assert receiver.recorder.hits == []


def test_a_receiver_that_is_down_is_a_retry_with_an_error():
    from service.infra.loopback import free_port

    result = webhook_channel.send_attempt(f"http://127.0.0.1:{free_port()}/", [wh.new_secret()], "msg_6",
                             _body(), allow_loopback=True, timeout=(2, 2))
    assert result.status == "retry" and result.code is None and "connect" in result.error
    assert 4 <= result.next_delay_s <= 6


def test_the_response_snippet_is_capped(big_responder):
    result = webhook_channel.send_attempt(big_responder.url + "/10mb", [wh.new_secret()], "msg_7", _body(),
                             allow_loopback=True)
    assert result.status == "ok"
    assert len(result.snippet) == wh.SNIPPET_CAP
