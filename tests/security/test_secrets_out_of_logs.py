"""Red team: secrets that travel in URLs reached the logs and stored errors.

- Invite, email-confirmation and unsubscribe tokens are path segments by design (the link must
  work alone); gunicorn's access log printed the path, so whoever reads the log could join a club,
  confirm an address or unsubscribe a runner.
- Garmin's ping callback URLs carry a download token (`activityFile?id=…&token=…`); a refused
  one was stored in the event's `last_error` and logged.
The access log is checked on a real `kneeguard serve` (gunicorn); the app log through the
service's own formatter; `last_error` after a forged ping, through the real receiver and job.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import select

from service.infra.logs import JsonFormatter
from service.infra.loopback import free_port
from service.models import InboundEvent
from tests.integrations.garmin import conftest as garmin

fake, settings, live, athlete, garmin_user = (garmin.fake, garmin.settings, garmin.live,
                                              garmin.athlete, garmin.garmin_user)
CLI = str(Path(sys.executable).with_name("kneeguard"))
SECRET = "s3cr3tT0kenValue_9f8e7d6c5b4a"
SECRET_PATHS = [f"/join/{SECRET}", f"/unsubscribe/{SECRET}", f"/me/email/confirm/{SECRET}",
                f"/v1/invites/{SECRET}/accept", f"/join/{SECRET}?next=/me"]


def serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'k.db'}", LOG_LEVEL="INFO",
               KNEEGUARD_SECRET_KEY="t", EMAIL_OUTBOX_DIR=str(tmp_path / "outbox"))
    env.pop("REDIS_URL", None)
    return subprocess.Popen([CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_the_access_log_never_shows_a_token_in_a_path(tmp_path):
    port = free_port()
    proc = serve(tmp_path, port)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        for path in SECRET_PATHS:
            requests.get(url + path, timeout=10)
            requests.post(url + path, timeout=10)
        time.sleep(0.5)  # the access log line is written after the answer
    finally:
        proc.terminate()
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert "/join/[redacted]" in out and "/unsubscribe/[redacted]" in out, out[-2000:]
    assert SECRET not in out


def formatted(record_args: dict) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning(record_args["msg"], extra=record_args.get("extra"))
        try:
            raise RuntimeError(record_args["exc"])
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_the_app_log_never_shows_a_token_in_a_url_or_path():
    callback = f"https://apis.garmin.com/wellness-api/rest/activityFile?id=42&token={SECRET}"
    out = formatted({"msg": f'https://apis.garmin.com:443 "GET {callback[26:]} HTTP/1.1" 200',
                     "extra": {"url": callback, "path": f"/join/{SECRET}"},
                     "exc": f"confirm failed for /me/email/confirm/{SECRET}"})
    assert SECRET not in out and "[redacted]" in out
    assert all(json.loads(line) for line in out.splitlines())


def test_a_refused_garmin_callback_keeps_its_token_out_of_last_error_and_logs(
        fake, live, runtime, garmin_user, caplog):
    run = fake.add_activity(garmin_user, "msimms__20210507_run_garmin_fenix_6.fit")
    forged = f"http://127.0.0.1:{free_port()}/wellness-api/rest/activityFile?id=1&token={SECRET}"
    with caplog.at_level(logging.INFO):
        answer = requests.post(f"{live.url}/webhooks/garmin/activity-files", timeout=5,
                               json=fake.activity_files_body([run], callback_url=forged),
                               headers={"garmin-client-id": fake.client_id})
        assert answer.status_code == 200
        runtime.queue.drain()
    with runtime.db.session() as s:
        errors = [e.last_error or "" for e in s.scalars(select(InboundEvent))]
    assert any("not on the Garmin API host" in e for e in errors), errors
    assert not any(SECRET in e for e in errors)
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert not any(SECRET in line for line in lines)
