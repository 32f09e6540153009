"""The push receiver: handshake, shape checks, size cap; plus tokens, retention and the CLI."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from service.domain.secrets import rotate_keys
from service.infra import runtime as runtime_mod
from service.integrations.strava import connection as svc
from service.models import Activity, Connection, InboundEvent

from .conftest import VERIFY_TOKEN, add_history, connect

GOOD = {"aspect_type": "create", "event_time": 1516126040, "object_id": 1360128428,
        "object_type": "activity", "owner_id": 134815, "subscription_id": 120475, "updates": {}}


def _count(runtime, model, *where) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_handshake_echoes_the_challenge_for_our_verify_token(live):
    resp = requests.get(f"{live.url}/webhooks/strava", timeout=5, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "15f7d1a9"})
    assert resp.status_code == 200 and resp.json() == {"hub.challenge": "15f7d1a9"}
    assert resp.headers["Content-Type"].startswith("application/json")


def test_handshake_with_a_wrong_or_missing_token_is_refused(live):
    for token in ("wrong", ""):
        resp = requests.get(f"{live.url}/webhooks/strava", timeout=5, params={
            "hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "x"})
        assert resp.status_code == 403
        assert resp.json()["error"]["code"] == "invalid_verify_token"


def test_subscribe_command_passes_the_fakes_handshake(runtime, fake, live, settings):
    env = {"DATABASE_URL": settings.database_url, "KNEEGUARD_SECRET_KEY": "x",
           "KNEEGUARD_ENCRYPTION_KEYS": ",".join(settings.encryption_keys),
           "STRAVA_CLIENT_ID": fake.client_id, "STRAVA_CLIENT_SECRET": fake.client_secret,
           "STRAVA_VERIFY_TOKEN": VERIFY_TOKEN, "STRAVA_API_URL": fake.api_url,
           "STRAVA_OAUTH_URL": fake.oauth_url, "PUBLIC_URL": live.url,
           "REDIS_URL": settings.redis_url or ""}
    from service.cli import main

    try:
        cli = CliRunner()
        sub = cli.invoke(main, ["strava", "subscribe"], env=env)
        assert sub.exit_code == 0, sub.output
        assert json.loads(sub.output)["callback_url"] == f"{live.url}/webhooks/strava"
        listed = json.loads(cli.invoke(main, ["strava", "list"], env=env).output)
        assert listed["subscriptions"][0]["id"] == fake.subscription["id"]
        gone = json.loads(cli.invoke(main, ["strava", "unsubscribe"], env=env).output)
        assert gone["deleted"] is not None and fake.subscription is None
    finally:
        runtime_mod._current = runtime  # the CLI built its own runtime


def test_malformed_forged_and_oversized_bodies_are_refused_without_a_row(runtime, live):
    url = f"{live.url}/webhooks/strava"
    bad = [b"not json", b"[]", json.dumps({**GOOD, "object_type": "club"}).encode(),
           json.dumps({**GOOD, "owner_id": "134815"}).encode(),
           json.dumps({**GOOD, "object_id": -1}).encode(),
           json.dumps({k: v for k, v in GOOD.items() if k != "event_time"}).encode(),
           json.dumps({**GOOD, "updates": {f"k{i}": "v" for i in range(50)}}).encode()]
    for body in bad:
        resp = requests.post(url, data=body, headers={"Content-Type": "application/json"},
                             timeout=5)
        assert resp.status_code == 400, body
        assert resp.json()["error"]["code"] == "invalid_event"
    huge = json.dumps({**GOOD, "updates": {"title": "x" * 70_000}}).encode()
    resp = requests.post(url, data=huge, timeout=5)
    assert resp.status_code == 413
    assert _count(runtime, InboundEvent) == 0


def test_an_event_from_another_subscription_is_dropped(runtime, fake, live, runner):
    strava_athlete = fake.add_athlete()
    assert connect(live, fake, runner[1], strava_athlete).status_code == 200
    runtime.queue.redis.set(svc.SUBSCRIPTION_KEY, "1")
    event = {**GOOD, "owner_id": strava_athlete, "subscription_id": 2}
    resp = requests.post(f"{live.url}/webhooks/strava", json=event, timeout=5)
    assert resp.json() == {"status": "ignored"}
    assert _count(runtime, InboundEvent, InboundEvent.kind == "activity.create") == 0


def test_concurrent_refreshes_make_one_token_call_and_keep_the_newest_token(runtime, fake, live,
                                                                            runner):
    strava_athlete = fake.add_athlete()
    assert connect(live, fake, runner[1], strava_athlete).status_code == 200
    with runtime.db.session() as s:
        conn = s.scalar(select(Connection))
        conn.expires_at = datetime.now(UTC) + timedelta(seconds=30)  # inside the refresh margin
        conn_id = conn.id
    tokens, errors = [], []

    def work() -> None:
        try:
            tokens.append(svc.access_token(runtime, conn_id))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(tokens)) == 1
    assert fake.token_calls["refresh_token"] == 1
    with runtime.db.session() as s:
        stored = runtime.box.decrypt(s.get(Connection, conn_id).refresh_token_enc)
    assert stored in fake.refresh_tokens  # the rotated, living refresh token


def test_purge_deletes_expired_strava_data_and_reconcile_fetches_it_again(runtime, fake, live,
                                                                         runner):
    from service.integrations.strava.jobs import purge, reconcile

    strava_athlete = fake.add_athlete()
    add_history(fake, strava_athlete, runs=4)
    assert connect(live, fake, runner[1], strava_athlete).status_code == 200
    runtime.queue.drain()
    with runtime.db.session() as s:
        for a in s.scalars(select(Activity)):
            a.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert purge()["activities"] == 4
    assert _count(runtime, Activity) == 0
    assert reconcile()["syncs"] == 1
    runtime.queue.drain()
    assert _count(runtime, Activity) == 4


def test_keys_rotate_re_encrypts_tokens_with_the_newest_key(runtime, fake, live, runner):
    from cryptography.fernet import Fernet

    from service.infra.crypto import TokenBox

    strava_athlete = fake.add_athlete()
    assert connect(live, fake, runner[1], strava_athlete).status_code == 200
    new_key = Fernet.generate_key().decode()
    runtime.box = TokenBox((new_key, *runtime.settings.encryption_keys))
    assert rotate_keys(runtime)["connections"] == 1
    with runtime.db.session() as s:
        conn = s.scalar(select(Connection))
        assert TokenBox((new_key,)).decrypt(conn.refresh_token_enc) in fake.refresh_tokens
