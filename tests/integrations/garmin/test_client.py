"""GarminClient against the fake Garmin (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from service.infra.loopback import free_port
from service.integrations.base import AuthRevoked, ProviderError, RateLimited, TokenSet
from service.integrations.garmin.client import (
    BACKFILL_MAX_SPAN,
    GarminClient,
    backfill_chunks,
    needs_refresh,
    new_pkce_pair,
    pkce_challenge,
)
from service.integrations.garmin.fake.provider import FIT_DIR, FakeGarmin
from service.integrations.garmin.responses import FileGone, FileTooLarge

REDIRECT = "http://127.0.0.1:8000/connect/garmin/callback"
SMALL_RUN = "fitparse__garmin-fenix-5-run.fit"  # 5.6 KB, parses in milliseconds


@pytest.fixture
def client(garmin: FakeGarmin) -> GarminClient:
    return GarminClient(garmin.api_url, garmin.auth_url, garmin.token_url,
                        garmin.client_id, garmin.client_secret)


def consent(client: GarminClient, challenge: str, state: str = "st-1") -> str:
    """Play the browser: open the authorize URL and read the code from the redirect."""
    resp = requests.get(client.authorize_url(REDIRECT, state, challenge), allow_redirects=False)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


def connect(client: GarminClient, garmin: FakeGarmin, user_id: str) -> TokenSet:
    garmin.login_user = user_id
    verifier, challenge = new_pkce_pair()
    return client.exchange_code(consent(client, challenge), verifier, REDIRECT)


def test_pkce_challenge_matches_the_rfc7636_example() -> None:
    # RFC 7636 Appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pkce_pairs_are_fresh_and_within_rfc_lengths() -> None:
    (v1, c1), (v2, _) = new_pkce_pair(), new_pkce_pair()
    assert v1 != v2
    assert 43 <= len(v1) <= 128
    assert c1 == pkce_challenge(v1) and "=" not in c1


def test_authorize_url_asks_for_code_with_s256_challenge(client: GarminClient) -> None:
    query = parse_qs(urlsplit(client.authorize_url(REDIRECT, "abc", "chal")).query)
    assert query == {"response_type": ["code"], "client_id": [client.client_id],
                     "code_challenge": ["chal"], "code_challenge_method": ["S256"],
                     "redirect_uri": [REDIRECT], "state": ["abc"]}


def test_pkce_round_trip_gives_tokens_and_the_garmin_user_id(
        client: GarminClient, garmin: FakeGarmin) -> None:
    user = garmin.add_user("user-a")
    before = datetime.now(UTC)
    tokens = connect(client, garmin, user)
    assert tokens.access_token and tokens.refresh_token
    assert "PARTNER_READ" in tokens.scopes
    assert before + timedelta(hours=23) < tokens.expires_at < before + timedelta(hours=25)
    assert client.get_user_id(tokens.access_token) == "user-a"


def test_a_wrong_code_verifier_is_refused(client: GarminClient, garmin: FakeGarmin) -> None:
    _, challenge = new_pkce_pair()
    other_verifier, _ = new_pkce_pair()
    code = consent(client, challenge)
    with pytest.raises(ProviderError) as info:
        client.exchange_code(code, other_verifier, REDIRECT)
    assert info.value.permanent and info.value.status == 400
    assert not isinstance(info.value, AuthRevoked)


def test_an_authorization_code_works_only_once(client: GarminClient) -> None:
    verifier, challenge = new_pkce_pair()
    code = consent(client, challenge)
    client.exchange_code(code, verifier, REDIRECT)
    with pytest.raises(ProviderError, match="invalid_grant"):
        client.exchange_code(code, verifier, REDIRECT)


def test_wrong_client_secret_is_a_permanent_error_not_a_revocation(
        garmin: FakeGarmin) -> None:
    bad = GarminClient(garmin.api_url, garmin.auth_url, garmin.token_url, garmin.client_id, "x")
    with pytest.raises(ProviderError) as info:
        bad.refresh("whatever")
    assert info.value.permanent and not isinstance(info.value, AuthRevoked)


def test_refresh_rotates_and_the_old_refresh_token_dies(
        client: GarminClient, garmin: FakeGarmin) -> None:
    first = connect(client, garmin, garmin.add_user())
    second = client.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert client.get_user_id(second.access_token)
    with pytest.raises(AuthRevoked):
        client.refresh(first.refresh_token)
    assert client.refresh(second.refresh_token).refresh_token != second.refresh_token


def test_user_revocation_turns_calls_and_refresh_into_auth_revoked(
        client: GarminClient, garmin: FakeGarmin) -> None:
    user = garmin.add_user()
    tokens = connect(client, garmin, user)
    garmin.revoke_user(user)
    with pytest.raises(AuthRevoked):
        client.get_user_id(tokens.access_token)
    with pytest.raises(AuthRevoked):
        client.refresh(tokens.refresh_token)


def test_needs_refresh_ten_minutes_before_expiry() -> None:
    expires = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert not needs_refresh(expires, expires - timedelta(minutes=11))
    assert needs_refresh(expires, expires - timedelta(minutes=9))
    assert needs_refresh(expires, expires + timedelta(seconds=1))


def test_permissions_are_what_the_user_shares(client: GarminClient, garmin: FakeGarmin) -> None:
    user = garmin.add_user(permissions={"ACTIVITY_EXPORT", "HEALTH_EXPORT"})
    tokens = connect(client, garmin, user)
    assert client.get_permissions(tokens.access_token) == {"ACTIVITY_EXPORT", "HEALTH_EXPORT"}


def test_deregister_ends_the_tokens_and_queues_the_final_notification(
        client: GarminClient, garmin: FakeGarmin) -> None:
    user = garmin.add_user()
    tokens = connect(client, garmin, user)
    client.deregister(tokens.access_token)
    assert garmin.calls_to("/wellness-api/rest/user/registration")[0].status == 204
    assert garmin.pending == [("deregistrations", {"deregistrations": [{"userId": user}]})]
    with pytest.raises(AuthRevoked):
        client.get_user_id(tokens.access_token)


def test_backfill_chunks_cover_the_range_in_at_most_30_days() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=95, hours=3)
    chunks = backfill_chunks(start, end)
    assert len(chunks) == 4
    assert chunks[0][0] == start and chunks[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(timedelta(0) < e - s <= BACKFILL_MAX_SPAN for s, e in chunks)
    assert backfill_chunks(end, start) == []
    with pytest.raises(ValueError):
        backfill_chunks(datetime(2026, 1, 1), end)


def test_backfill_sends_every_chunk_and_a_repeat_409_counts_as_done(
        client: GarminClient, garmin: FakeGarmin) -> None:
    tokens = connect(client, garmin, garmin.add_user())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = client.request_backfill(tokens.access_token, start, start + timedelta(days=60))
    again = client.request_backfill(tokens.access_token, start, start + timedelta(days=60))
    assert [r.duplicate for r in first] == [False, False]
    assert [r.duplicate for r in again] == [True, True]
    statuses = [c.status for c in garmin.calls_to("/wellness-api/rest/backfill/activities")]
    assert statuses == [202, 202, 409, 409]


def test_backfill_rate_limit_carries_retry_after(client: GarminClient, garmin: FakeGarmin) -> None:
    tokens = connect(client, garmin, garmin.add_user())
    garmin.fail_next("/wellness-api/rest/backfill/activities", 429, headers={"Retry-After": "7"})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(RateLimited) as info:
        client.request_backfill(tokens.access_token, start, start + timedelta(days=3))
    assert info.value.retry_after == 7.0 and not info.value.permanent


@pytest.mark.parametrize(("status", "permanent"), [(503, False), (500, False), (403, True),
                                                   (404, True), (302, True)])
def test_http_errors_map_to_transient_or_permanent(
        client: GarminClient, garmin: FakeGarmin, status: int, permanent: bool) -> None:
    tokens = connect(client, garmin, garmin.add_user())
    garmin.fail_next("/wellness-api/rest/user/permissions", status)
    with pytest.raises(ProviderError) as info:
        client.get_permissions(tokens.access_token)
    assert info.value.permanent is permanent and info.value.status == status


def test_an_unreachable_garmin_is_a_transient_error() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # a port that was free a moment ago: nothing listens
    client = GarminClient(dead, dead + "/auth", dead + "/token", "id", "secret")
    with pytest.raises(ProviderError) as info:
        client.get_user_id("token")
    assert not info.value.permanent


def test_a_file_downloads_once_then_is_gone(client: GarminClient, garmin: FakeGarmin) -> None:
    user = garmin.add_user()
    tokens = connect(client, garmin, user)
    url = garmin.callback_url(garmin.add_activity(user, SMALL_RUN))
    assert client.download_file(tokens.access_token, url) == (FIT_DIR / SMALL_RUN).read_bytes()
    with pytest.raises(FileGone) as info:
        client.download_file(tokens.access_token, url)
    assert info.value.permanent and info.value.status == 410


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_download_is_refused(
        client: GarminClient, garmin: FakeGarmin, chunked: bool) -> None:
    garmin.stream_files = chunked
    user = garmin.add_user()
    tokens = connect(client, garmin, user)
    url = garmin.callback_url(garmin.add_activity(user, SMALL_RUN))
    with pytest.raises(FileTooLarge) as info:
        client.download_file(tokens.access_token, url, max_bytes=4096)
    assert info.value.permanent


def test_a_chunked_download_within_the_cap_is_complete(
        client: GarminClient, garmin: FakeGarmin) -> None:
    garmin.stream_files = True
    user = garmin.add_user()
    tokens = connect(client, garmin, user)
    url = garmin.callback_url(garmin.add_activity(user, SMALL_RUN))
    data = client.download_file(tokens.access_token, url, max_bytes=6000)
    assert data == (FIT_DIR / SMALL_RUN).read_bytes()


def test_an_activities_ping_callback_pulls_the_uploaded_summaries(
        client: GarminClient, garmin: FakeGarmin) -> None:
    user = garmin.add_user()
    tokens = connect(client, garmin, user)
    run = garmin.add_activity(user, summary={"startTimeInSeconds": 1_767_225_600,
                                             "distanceInMeters": 8000.0,
                                             "totalElevationLossInMeters": 120.0})
    garmin.receivers = {"activities": garmin.url + "/nowhere"}  # only the body matters here
    ping = garmin.send_activities_ping(user, run.upload_time - 60, run.upload_time + 60)
    callback = ping.body["activities"][0]["callbackURL"]
    summaries = client.fetch_summaries(tokens.access_token, callback)
    assert [(s.provider_id, s.total_elevation_loss_in_meters, s.manual) for s in summaries] == [
        (str(run.activity_id), 120.0, True)]
