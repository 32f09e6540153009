"""OAuth state is single-use and expiring; concurrent refreshes make exactly one upstream call."""

import threading
import time
from datetime import timedelta

from service.integrations import oauth
from service.integrations.base import TokenSet
from service.models import Athlete, Connection, OAuthState, utcnow

B = "a" * 64  # the hash of a browser's binding value


def test_a_state_works_once(runtime):
    with runtime.db.session() as s:
        state = oauth.new_state(s, runtime.box, "strava", code_verifier="v" * 50, browser=B)
    with runtime.db.session() as s:
        row = oauth.consume_state(s, runtime.box, "strava", state, B)
        assert row is not None and row.code_verifier_enc == "v" * 50
    with runtime.db.session() as s:
        assert oauth.consume_state(s, runtime.box, "strava", state, B) is None


def test_a_state_from_another_browser_is_refused_and_burnt(runtime):
    with runtime.db.session() as s:
        state = oauth.new_state(s, runtime.box, "strava", browser=B)
    with runtime.db.session() as s:
        assert oauth.consume_state(s, runtime.box, "strava", state, "b" * 64) is None
        assert oauth.consume_state(s, runtime.box, "strava", state, None) is None
    with runtime.db.session() as s:  # the leaked state is gone for its owner too
        assert oauth.consume_state(s, runtime.box, "strava", state, B) is None


def test_a_state_for_another_provider_or_expired_or_forged_is_refused(runtime):
    with runtime.db.session() as s:
        state = oauth.new_state(s, runtime.box, "garmin", browser=B)
        expired = oauth.new_state(s, runtime.box, "strava", browser=B)
        s.flush()
        s.get(OAuthState, oauth._hash(expired)).expires_at = utcnow() - timedelta(seconds=1)
    with runtime.db.session() as s:
        assert oauth.consume_state(s, runtime.box, "strava", state, B) is None
        assert oauth.consume_state(s, runtime.box, "strava", expired, B) is None
        assert oauth.consume_state(s, runtime.box, "strava", "forged", B) is None
        assert oauth.consume_state(s, runtime.box, "strava", None, B) is None


def _connection(runtime, expires_in: timedelta) -> str:
    with runtime.db.session() as s:
        athlete = Athlete(email="r@example.com", preferences={}, thresholds={})
        s.add(athlete)
        s.flush()
        conn = Connection(athlete_id=athlete.id, provider="strava", provider_user_id="42",
                          scopes=[], details={})
        oauth.store_tokens(conn, runtime.box, TokenSet("a0", "r0", utcnow() + expires_in))
        s.add(conn)
        s.flush()
        return conn.id


def test_tokens_are_encrypted_at_rest(runtime):
    cid = _connection(runtime, timedelta(hours=1))
    with runtime.db.session() as s:
        conn = s.get(Connection, cid)
        # Fernet tokens, not the tokens themselves ("a0" may occur inside random ciphertext).
        assert conn.access_token_enc.startswith("gAAAAA") and conn.access_token_enc != "a0"
        assert conn.refresh_token_enc.startswith("gAAAAA") and conn.refresh_token_enc != "r0"
        assert runtime.box.decrypt(conn.access_token_enc) == "a0"
        assert runtime.box.decrypt(conn.refresh_token_enc) == "r0"


def test_a_fresh_token_is_used_without_refreshing(runtime):
    cid = _connection(runtime, timedelta(hours=1))
    calls = []
    assert oauth.access_token(runtime.db, runtime.box, cid, calls.append) == "a0"
    assert calls == []


def test_concurrent_refreshes_make_exactly_one_upstream_call(runtime):
    cid = _connection(runtime, timedelta(minutes=1))  # inside the refresh-ahead window
    calls = []

    def refresh(token: str) -> TokenSet:
        calls.append(token)
        time.sleep(0.2)  # a slow upstream widens the race window
        n = len(calls)
        return TokenSet(f"a{n}", f"r{n}", utcnow() + timedelta(hours=6))

    results = []
    threads = [threading.Thread(target=lambda: results.append(
        oauth.access_token(runtime.db, runtime.box, cid, refresh))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["r0"]
    assert results == ["a1"] * 6
    with runtime.db.session() as s:
        assert runtime.box.decrypt(s.get(Connection, cid).refresh_token_enc) == "r1"
