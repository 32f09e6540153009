"""An endpoint's life from the command line and the API: disabled by a 410, its owner told, then
recovered (enable, replay), rotated, disabled by hand and deleted."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from service.domain import clubs
from service.infra import jobs
from service.infra.loopback import free_port
from service.models import Delivery
from testkit.receiver import Receiver
from tests.helpers import athlete_with_token, run_cli


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(webhook_allow_loopback=True)


@pytest.fixture
def rx():
    """Answers 410 Gone until the test sets `status_override` back to None (the endpoint fixed)."""
    with Receiver("127.0.0.1", free_port()) as receiver:
        receiver.status_override = 410
        yield receiver


def notices_to(settings, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in Path(settings.email_outbox_dir).glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"] == address and "disabled" in msg["Subject"]:
            found.append(msg)
    return found


def send_test(client, headers, ep_id):
    assert client.post(f"/v1/endpoints/{ep_id}/test", headers=headers).status_code == 202


def test_the_cli_recovers_an_endpoint_a_410_disabled(runtime, settings, rx):
    added = run_cli(settings, "endpoints", "add", f"http://127.0.0.1:{rx.port}/hook", "--events",
                    "finding.created", "--owner-email", "ops@example.com")
    ep_id, rx.secret = added["id"], added["secret"]
    run_cli(settings, "endpoints", "list")
    with runtime.db.session() as s:
        from service.domain import endpoints as svc
        from service.models import Endpoint

        message_id = svc.send_test(s, s.get(Endpoint, ep_id)).id
    jobs.deliver(runtime, message_id)
    runtime.queue.drain()
    listed = run_cli(settings, "endpoints", "list")["endpoints"]
    assert [(e["id"], e["status"], e["last_error"]) for e in listed] == [
        (ep_id, "disabled", "HTTP 410")]
    notice = notices_to(settings, "ops@example.com")[-1].get_content()
    assert f"kneeguard endpoints enable {ep_id}" in notice
    assert f"kneeguard endpoints replay {ep_id} --since" in notice
    rx.status_override = None  # fixed
    assert run_cli(settings, "endpoints", "enable", ep_id)["status"] == "active"
    replayed = run_cli(settings, "endpoints", "replay", ep_id, "--since", "2000-01-01")
    assert replayed == {"replayed": [message_id], "withheld": 0}
    runtime.queue.drain()  # on Redis the CLI only enqueued; a worker would send it
    assert [m["type"] for m in rx.verified] == ["endpoint.test"]
    rotated = run_cli(settings, "endpoints", "rotate", ep_id, "--overlap-hours", "0")
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != rx.secret
    assert run_cli(settings, "endpoints", "disable", ep_id)["status"] == "disabled"
    assert run_cli(settings, "endpoints", "delete", ep_id) == {"deleted": ep_id}
    assert run_cli(settings, "endpoints", "list") == {"endpoints": []}


def test_a_runners_endpoint_disabled_by_410_emails_the_runner(runtime, client, settings, rx):
    athlete_id, auth = athlete_with_token(runtime, "owner@example.com")
    made = client.post("/v1/endpoints", headers=auth, json={
        "url": f"http://127.0.0.1:{rx.port}/me", "events": ["finding.created"]}).get_json()
    send_test(client, auth, made["id"])
    runtime.queue.drain()
    assert len(notices_to(settings, "owner@example.com")) == 1


def test_a_clubs_endpoint_disabled_by_410_emails_its_admins(runtime, client, settings, rx):
    admin_id, _ = athlete_with_token(runtime, "admin@example.com")
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers", admin_athlete_id=admin_id)
        _, key = clubs.issue_key(s, "club", "k", ["read", "admin"], club_id=club.id)
    auth = {"Authorization": f"Bearer {key}"}
    made = client.post("/v1/endpoints", headers=auth, json={
        "url": f"http://127.0.0.1:{rx.port}/club", "events": ["finding.created"]}).get_json()
    send_test(client, auth, made["id"])
    runtime.queue.drain()
    assert len(notices_to(settings, "admin@example.com")) == 1


def test_an_integrator_sees_the_disabled_status_and_last_error(runtime, client, rx):
    with runtime.db.session() as s:
        _, key = clubs.issue_key(s, "integrator", "acme", ["read", "admin"])
    auth = {"Authorization": f"Bearer {key}"}
    made = client.post("/v1/endpoints", headers=auth, json={
        "url": f"http://127.0.0.1:{rx.port}/i", "events": ["finding.created"]}).get_json()
    send_test(client, auth, made["id"])
    runtime.queue.drain()
    seen = client.get(f"/v1/endpoints/{made['id']}", headers=auth).get_json()
    assert (seen["status"], seen["last_error"]) == ("disabled", "HTTP 410")
    assert "410" in seen["disabled_reason"]
    with runtime.db.session() as s:  # no owner address: nobody to email
        assert s.scalars(select(Delivery).where(Delivery.channel == "email")).all() == []
    answer = client.post(f"/v1/endpoints/{made['id']}/replay", headers=auth,
                         json={"since": "2000-01-01T00:00:00Z"})
    assert answer.status_code == 409  # enable first, then replay
    assert client.post(f"/v1/endpoints/{made['id']}/enable", headers=auth).status_code == 200
