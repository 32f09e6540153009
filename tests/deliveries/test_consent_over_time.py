"""Consent is checked again when a message is sent and when it is replayed: the issue's club that
replayed "since 2000" after a member withdrew, and pending messages when consent goes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain import clubs
from service.domain import endpoints as svc
from service.infra.loopback import free_port
from service.models import Athlete, Delivery, DeliveryAttempt
from testkit.receiver import Receiver
from tests.helpers import analyze_all, athlete_with_token, spike_history
from workers.analyze import _analyze


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(webhook_allow_loopback=True)


@pytest.fixture
def rx():
    with Receiver("127.0.0.1", free_port()) as receiver:
        yield receiver


def club_with_member(runtime, client, rx, scope: list[str]) -> tuple[str, str, dict]:
    """A club whose admin key registers an endpoint through the API; one runner joins with `scope`."""
    athlete_id, _ = athlete_with_token(runtime)
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        _, key = clubs.issue_key(s, "club", "harriers", ["read", "admin"], club_id=club.id)
        invite, _ = clubs.create_invite(s, club.id)
        clubs.accept_invite(s, invite, athlete_id, scope)
        club_id = club.id
    headers = {"Authorization": f"Bearer {key}"}
    made = client.post("/v1/endpoints", headers=headers, json={
        "url": f"http://127.0.0.1:{rx.port}/club", "events": ["finding.created",
                                                             "activity.analyzed"]})
    assert made.status_code == 201, made.get_json()
    rx.secret = made.get_json()["secret"]
    return athlete_id, club_id, dict(headers, endpoint=made.get_json()["id"])


def about(rx, athlete_id: str) -> list[dict]:
    return [m for m in rx.verified if m["data"].get("athlete_id") == athlete_id]


def test_a_member_sharing_only_distance_sends_no_findings_to_the_club(runtime, client, rx):
    athlete_id, _, _ = club_with_member(runtime, client, rx, ["distance"])
    analyze_all(runtime, spike_history(runtime, athlete_id))
    assert about(rx, athlete_id) == []
    with runtime.db.session() as s:
        assert s.scalars(select(Delivery).where(Delivery.channel == "webhook")).all() == []


def test_replay_after_withdrawal_sends_nothing_about_the_member(runtime, client, rx):
    athlete_id, club_id, headers = club_with_member(runtime, client, rx, list(clubs.CONSENT_SCOPES))
    analyze_all(runtime, spike_history(runtime, athlete_id))
    delivered = about(rx, athlete_id)
    assert {m["type"] for m in delivered} == {"finding.created", "activity.analyzed"}
    with runtime.db.session() as s:
        clubs.withdraw(s, club_id, athlete_id)
    ep_id = headers.pop("endpoint")
    answer = client.post(f"/v1/endpoints/{ep_id}/replay", headers=headers,
                         json={"since": "2000-01-01T00:00:00Z"})
    assert answer.status_code == 202
    assert answer.get_json() == {"replayed": [], "withheld": len(delivered)}
    runtime.queue.drain()
    assert len(about(rx, athlete_id)) == len(delivered)  # nothing new arrived


def test_consent_withdrawn_before_the_send_cancels_the_message(runtime, client, rx):
    athlete_id, club_id, _ = club_with_member(runtime, client, rx, list(clubs.CONSENT_SCOPES))
    ids = spike_history(runtime, athlete_id)
    for activity_id in ids:  # analyse; the deliver jobs wait in the queue until drained
        _analyze(runtime, activity_id)
    with runtime.db.session() as s:
        pending = s.scalars(select(Delivery.id).where(Delivery.channel == "webhook",
                                                      Delivery.status == "pending")).all()
        clubs.withdraw(s, club_id, athlete_id)
    assert pending
    runtime.queue.drain()
    assert about(rx, athlete_id) == []
    with runtime.db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.id.in_(pending))).all()
        errors = s.scalars(select(DeliveryAttempt.error)
                           .where(DeliveryAttempt.delivery_id.in_(pending))).all()
    assert {d.status for d in rows} == {"cancelled"}
    assert errors and all("not a consenting member" in e for e in errors)


def test_an_integrator_loses_pending_messages_when_the_runner_takes_back_consent(runtime, rx):
    athlete_id, _ = athlete_with_token(runtime)
    with runtime.db.session() as s:
        key, _ = clubs.issue_key(s, "integrator", "acme", ["read", "admin"])
        ep, rx.secret = svc.create(s, runtime.box, url=f"http://127.0.0.1:{rx.port}/i",
                                   events=["finding.created"], allow_loopback=True)
        ep.owner_key_id = key.id
        s.get(Athlete, athlete_id).preferences = {"integrators": True}
    ids = spike_history(runtime, athlete_id)
    for activity_id in ids:
        _analyze(runtime, activity_id)
    with runtime.db.session() as s:
        planned = s.scalars(select(Delivery.id).where(Delivery.channel == "webhook")).all()
        s.get(Athlete, athlete_id).preferences = {"integrators": False}
    assert planned
    runtime.queue.drain()
    assert rx.verified == []
