"""StravaClient against FakeStrava over real loopback HTTP: every method and the error mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from service.infra.loopback import LiveServer
from service.integrations.base import AuthRevoked, InsufficientScope, ProviderError, RateLimited, TokenSet
from service.integrations.strava.client import StravaClient, parse_granted_scopes
from service.integrations.strava.fake.provider import FakeStrava
from service.integrations.strava.rates import RateLimitState

REDIRECT = "http://127.0.0.1:8000/connect/strava/callback"
T0 = datetime(2026, 6, 10, 10, 7, 30, tzinfo=UTC)


class Clock:
    """A settable clock shared by the fake and the client."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def fake(clock):
    with FakeStrava(clock=clock) as f:
        yield f


@pytest.fixture
def client(fake, clock):
    return StravaClient(fake.api_url, fake.oauth_url, fake.client_id, fake.client_secret,
                        clock=clock)


def connect(fake: FakeStrava, client: StravaClient, grant: str | None = None,
            scopes: tuple[str, ...] = ("activity:read_all", "activity:write")
            ) -> tuple[int, TokenSet]:
    athlete = fake.add_athlete()
    url = client.authorize_url(REDIRECT, "st8", scopes=scopes)
    params = fake.authorize(url, athlete=athlete, grant=grant)
    return athlete, client.exchange_code(params["code"], params["scope"])


# ---- OAuth --------------------------------------------------------------------------------------


def test_authorize_url_asks_for_read_all_and_write_with_state(client):
    url = client.authorize_url(REDIRECT, "abc", approval_prompt="force")
    assert url.startswith(f"{client.oauth_url}/authorize?")
    assert "scope=activity%3Aread_all%2Cactivity%3Awrite" in url
    assert "state=abc" in url and "approval_prompt=force" in url and "response_type=code" in url


def test_granted_scopes_are_parsed_from_commas_or_spaces():
    assert parse_granted_scopes("read,activity:read_all") == {"read", "activity:read_all"}
    assert parse_granted_scopes("read activity:write") == {"read", "activity:write"}
    assert parse_granted_scopes(None) == frozenset()


def test_code_exchange_returns_tokens_athlete_and_granted_scopes(fake, client, clock):
    athlete, tokens = connect(fake, client)
    assert tokens.provider_user_id == str(athlete)
    assert tokens.scopes == {"read", "activity:read_all", "activity:write"}
    assert tokens.expires_at == clock.now.replace(microsecond=0) + timedelta(hours=6)
    assert fake.token_calls["authorization_code"] == 1


def test_a_code_works_only_once(fake, client):
    athlete = fake.add_athlete()
    code = fake.authorize(client.authorize_url(REDIRECT, "s"), athlete=athlete)["code"]
    client.exchange_code(code)
    with pytest.raises(ProviderError) as err:
        client.exchange_code(code)
    assert err.value.permanent and not isinstance(err.value, AuthRevoked)


def test_user_who_unticks_write_gets_insufficient_scope_on_the_note(fake, client):
    athlete, tokens = connect(fake, client, grant="activity:read_all")
    assert "activity:write" not in tokens.scopes
    run = fake.add_activity(athlete, T0 - timedelta(hours=2))
    with pytest.raises(InsufficientScope) as err:
        client.update_description(tokens.access_token, run, "note")
    assert err.value.scope == "activity:write" and err.value.permanent


def test_refresh_rotates_and_the_old_refresh_token_is_dead_at_once(fake, client):
    _, tokens = connect(fake, client)
    new = client.refresh(tokens.refresh_token)
    assert new.refresh_token != tokens.refresh_token
    assert new.access_token == tokens.access_token  # > 1 h left: Strava returns the same one
    with pytest.raises(AuthRevoked):
        client.refresh(tokens.refresh_token)
    assert client.refresh(new.refresh_token).refresh_token not in (new.refresh_token,)
    assert fake.token_calls["refresh_token"] == 3


def test_refresh_near_expiry_issues_a_new_access_token_and_the_old_one_still_works(
        fake, client, clock):
    _, tokens = connect(fake, client)
    clock.now += timedelta(hours=5, minutes=30)
    new = client.refresh(tokens.refresh_token)
    assert new.access_token != tokens.access_token
    assert new.expires_at > tokens.expires_at
    assert client.get_athlete(tokens.access_token).id == client.get_athlete(new.access_token).id


def test_wrong_client_secret_is_a_config_error_not_a_revocation(fake, client):
    _, tokens = connect(fake, client)
    bad = StravaClient(fake.api_url, fake.oauth_url, fake.client_id, "wrong")
    with pytest.raises(ProviderError) as err:
        bad.refresh(tokens.refresh_token)
    assert err.value.permanent and not isinstance(err.value, AuthRevoked)


def test_revoke_kills_all_tokens(fake, client):
    _, tokens = connect(fake, client)
    assert client.revoke(tokens.access_token, tokens.refresh_token) == "revoke"
    with pytest.raises(AuthRevoked):
        client.get_athlete(tokens.access_token)
    with pytest.raises(AuthRevoked):
        client.refresh(tokens.refresh_token)


def test_revoke_falls_back_to_deauthorize_when_revoke_is_missing(fake, client):
    _, tokens = connect(fake, client)
    fake.revoke_enabled = False
    assert client.revoke(tokens.access_token) == "deauthorize"
    assert [p for _, p in fake.calls[-2:]] == ["/oauth/revoke", "/oauth/deauthorize"]
    with pytest.raises(AuthRevoked):
        client.get_athlete(tokens.access_token)
    assert client.revoke(tokens.access_token) == "deauthorize"  # already gone: still fine


# ---- activities -----------------------------------------------------------------------------------


def test_a_year_of_runs_is_listed_in_two_calls(fake, client):
    athlete, tokens = connect(fake, client)
    fake.add_year_of_runs(athlete, runs=300)
    fake.reset_calls()
    runs = list(client.iter_activities(tokens.access_token))
    assert len(runs) == 300 and len({r.provider_id for r in runs}) == 300
    assert fake.count("GET", "/api/v3/athlete/activities") == 2
    assert all(r.sport == "running" for r in runs)
    assert {r.sub_sport for r in runs} == {None, "trail", "treadmill"}


def test_list_filters_by_after_and_before(fake, client):
    athlete, tokens = connect(fake, client)
    ids = [fake.add_activity(athlete, T0 - timedelta(days=d)) for d in (1, 3, 5, 7)]
    got = client.list_activities(tokens.access_token, after=T0 - timedelta(days=6),
                                 before=T0 - timedelta(days=2))
    assert sorted(int(r.provider_id) for r in got) == sorted(ids[1:3])


def test_private_runs_need_read_all(fake, client):
    athlete, tokens = connect(fake, client, scopes=("activity:read", "activity:write"))
    fake.add_activity(athlete, T0 - timedelta(days=1), private=True)
    public = fake.add_activity(athlete, T0 - timedelta(days=2))
    assert [r.provider_id for r in client.list_activities(tokens.access_token)] == [str(public)]


def test_manual_and_treadmill_runs_map_to_no_gps(fake, client):
    athlete, tokens = connect(fake, client)
    manual = fake.add_activity(athlete, T0 - timedelta(days=1), 7000.0, manual=True)
    treadmill = fake.add_activity(athlete, T0 - timedelta(days=2), 6000.0, trainer=True)
    outdoor = fake.add_activity(athlete, T0 - timedelta(days=3), 9000.0, sport_type="TrailRun")
    by_id = {r.provider_id: r for r in client.list_activities(tokens.access_token)}
    assert (by_id[str(manual)].manual, by_id[str(manual)].has_gps) == (True, False)
    assert (by_id[str(treadmill)].sub_sport, by_id[str(treadmill)].has_gps) == ("treadmill", False)
    assert (by_id[str(outdoor)].sub_sport, by_id[str(outdoor)].has_gps) == ("trail", True)
    assert by_id[str(outdoor)].distance_m == 9000.0
    assert by_id[str(outdoor)].start_time == T0 - timedelta(days=3)


def test_get_activity_keeps_description_and_raw(fake, client):
    athlete, tokens = connect(fake, client)
    run = fake.add_activity(athlete, T0, description="Easy one")
    got = client.get_activity(tokens.access_token, run)
    assert got.description == "Easy one" and got.raw["resource_state"] == 3


def test_deleted_activity_is_a_permanent_404(fake, client):
    athlete, tokens = connect(fake, client)
    run = fake.add_activity(athlete, T0)
    fake.delete_activity(run)
    with pytest.raises(ProviderError) as err:
        client.get_activity(tokens.access_token, run)
    assert (err.value.status, err.value.permanent) == (404, True)


def test_streams_are_keyed_by_type_and_manual_activities_have_none(fake, client):
    athlete, tokens = connect(fake, client)
    run = fake.add_activity(athlete, T0, 6000.0)
    treadmill = fake.add_activity(athlete, T0, 6000.0, trainer=True)
    manual = fake.add_activity(athlete, T0, 6000.0, manual=True)
    streams = client.get_streams(tokens.access_token, run)
    assert set(streams) == {"time", "distance", "latlng", "altitude", "velocity_smooth",
                            "heartrate", "cadence", "moving", "grade_smooth"}
    assert streams["distance"][-1] == 6000.0 and len(streams["latlng"][0]) == 2
    assert "latlng" not in client.get_streams(tokens.access_token, treadmill)
    assert client.get_streams(tokens.access_token, manual) is None


def test_description_update_is_a_json_put(fake, client):
    athlete, tokens = connect(fake, client)
    run = fake.add_activity(athlete, T0, description="mine")
    got = client.update_description(tokens.access_token, run, "mine\n\nours")
    assert got.description == "mine\n\nours" == fake.activities[run]["description"]
    assert fake.last_put_content_type == "application/json"


# ---- errors and rate limits -----------------------------------------------------------------------


def test_every_api_response_feeds_the_rate_state(fake, clock):
    seen: list[RateLimitState | None] = []
    client = StravaClient(fake.api_url, fake.oauth_url, fake.client_id, fake.client_secret,
                          on_response=lambda h: seen.append(RateLimitState.from_headers(h, clock())))
    _, tokens = connect(fake, client)
    client.get_athlete(tokens.access_token)
    client.list_activities(tokens.access_token)
    api_states = [s for s in seen if s is not None]
    assert [s.read.usage_short for s in api_states] == [1, 2]
    assert api_states[-1].read.limit_short == 100 and api_states[-1].overall.limit_daily == 2000


def test_429_waits_until_the_next_quarter_hour(fake, client):
    _, tokens = connect(fake, client)
    fake.force_429()
    with pytest.raises(RateLimited) as err:
        client.get_athlete(tokens.access_token)
    assert err.value.retry_after == 450.0  # 10:07:30 -> 10:15:00
    assert not err.value.permanent


def test_429_with_the_daily_budget_spent_waits_until_utc_midnight(fake, client):
    _, tokens = connect(fake, client)
    fake.set_usage("read", 10, 1000)
    with pytest.raises(RateLimited) as err:
        client.get_athlete(tokens.access_token)
    assert err.value.retry_after == (13 * 3600 + 52 * 60 + 30)  # 10:07:30 -> 24:00


def test_server_errors_and_refused_connections_are_transient():
    def broken(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [json.dumps({"message": "down"}).encode()]

    with LiveServer(broken) as srv:
        client = StravaClient(f"{srv.url}/api/v3", f"{srv.url}/oauth", "1", "s")
        with pytest.raises(ProviderError) as err:
            client.get_athlete("t")
        assert (err.value.status, err.value.permanent) == (503, False)
        dead_url = srv.url
    with pytest.raises(ProviderError) as err:
        StravaClient(f"{dead_url}/api/v3", f"{dead_url}/oauth", "1", "s").get_athlete("t")
    assert err.value.permanent is False and err.value.status is None


def test_unexpected_shape_is_a_permanent_error():
    def weird(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'[{"id": "not-a-number", "start_date": "yesterday"}]']

    with LiveServer(weird) as srv:
        client = StravaClient(f"{srv.url}/api/v3", f"{srv.url}/oauth", "1", "s")
        with pytest.raises(ProviderError) as err:
            client.list_activities("t")
        assert err.value.permanent
