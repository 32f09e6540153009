"""Issue 7's promises, end to end: signed webhooks a real receiver verifies, an outage that loses
nothing, rotation overlap, 410, replay, the 5-day disable, and one email per finding."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service.domain import endpoints as svc
from service.infra import jobs
from service.models import Delivery, DeliveryAttempt, Endpoint, utcnow
from testkit.receiver import Receiver
from tests.helpers import analyze_all, athlete_with_token, endpoint, run_cli, spike_history
from tests.notify_e2e.gpx_history import spike_folder


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(webhook_allow_loopback=True)


def pass_time(runtime) -> None:
    """Compress the retry schedule: everything scheduled is due now."""
    with runtime.db.session() as s:
        s.execute(update(Delivery).where(Delivery.status == "pending")
                  .values(next_attempt_at=utcnow()))
    from service.infra import sweeper
    sweeper.sweep(runtime)
    runtime.queue.drain()


def test_an_imported_spike_reaches_a_verifying_receiver(runtime, settings, tmp_path):
    with Receiver() as rx:
        out = run_cli(settings, "endpoints", "add", rx.url, "--events", "finding.created")
        assert out["secret"].startswith("whsec_") and out["id"].startswith("ep_")
        rx.secrets.append(out["secret"])
        run_cli(settings, "import", str(spike_folder(tmp_path / "runs")),
                "--athlete", "spiky@example.com", "--json")
        runtime.queue.drain()  # on Redis the CLI only enqueued; a worker would run these
        spikes = [m for m in rx.received if m["payload"]["data"]["rule"] == "single_run_spike"]
    assert rx.rejected == 0
    assert len(spikes) == 1
    data = spikes[0]["payload"]["data"]
    assert spikes[0]["payload"]["type"] == "finding.created"
    assert data["severity"] == "caution" and data["value"] == pytest.approx(1.8, abs=0.01)
    assert {"id", "athlete_id", "activity_id", "message", "evidence", "sources",
            "threshold"} <= set(data)
    from workers.notify.catalog import validate_payload
    validate_payload("finding.created", spikes[0]["raw"])


def test_an_outage_loses_nothing_and_keeps_the_webhook_id(runtime):
    with Receiver() as rx:
        ep_id, secret = endpoint(runtime, rx.url)
        rx.secrets.append(secret)
        # Down for the first 4 requests: the history's one caution (the spike; its week's jump is
        # context since issue 22) is retried through the outage and arrives.
        rx.failures_left = 4
        athlete_id, _ = athlete_with_token(runtime)
        analyze_all(runtime, spike_history(runtime, athlete_id))
        for _ in range(8):
            pass_time(runtime)
        with runtime.db.session() as s:
            rows = s.scalars(select(Delivery).where(Delivery.target == ep_id)).all()
            statuses = {d.status for d in rows}
    assert rows and statuses == {"sent"}
    assert {m["id"] for m in rx.received} == {d.id for d in rows}  # 100% arrived
    assert set(rx.ids_seen) == {d.id for d in rows}
    assert len(rx.ids_seen) == sum(d.attempt_count for d in rows)  # every attempt: one id
    assert any(d.attempt_count > 1 for d in rows)  # the outage really caused retries


def test_during_rotation_both_secrets_verify_then_only_the_new(runtime):
    with Receiver() as rx:
        ep_id, old = endpoint(runtime, rx.url, ("finding.created", "activity.analyzed"))
        with runtime.db.session() as s:
            new = svc.rotate(s, runtime.box, s.get(Endpoint, ep_id), timedelta(hours=1))
        rx.secrets = [old]  # a receiver that has not switched yet
        athlete_id, _ = athlete_with_token(runtime)
        analyze_all(runtime, spike_history(runtime, athlete_id)[:1])
        assert rx.received and rx.rejected == 0
        rx.secrets, rx.received = [new], []
        with runtime.db.session() as s:  # the overlap ends
            s.execute(update(Endpoint).values(previous_expires_at=utcnow() - timedelta(seconds=1)))
        with runtime.db.session() as s:
            row = svc.send_test(s, s.get(Endpoint, ep_id))
        jobs.deliver(runtime, row.id)
        runtime.queue.drain()
        rx.secrets = [old]
        with runtime.db.session() as s:
            row2 = svc.send_test(s, s.get(Endpoint, ep_id))
        jobs.deliver(runtime, row2.id)
        runtime.queue.drain()
    assert [m["id"] for m in rx.received] == [row.id]
    assert rx.rejected == 1  # the old secret alone no longer verifies


def test_410_disables_the_endpoint_and_cancels_its_queue(runtime):
    with Receiver() as rx:
        ep_id, secret = endpoint(runtime, rx.url)
        rx.secrets.append(secret)
        rx.status_override = 410
        athlete_id, _ = athlete_with_token(runtime)
        analyze_all(runtime, spike_history(runtime, athlete_id))
        pass_time(runtime)
    with runtime.db.session() as s:
        assert s.get(Endpoint, ep_id).status == "disabled"
        rows = s.scalars(select(Delivery).where(Delivery.target == ep_id)).all()
        assert rows and {d.status for d in rows} <= {"failed", "cancelled"}
    assert len(rx.hits) == 1  # nothing more was sent after the 410


def test_replay_sends_the_same_message_id_again(runtime):
    with Receiver() as rx:
        ep_id, secret = endpoint(runtime, rx.url)
        rx.secrets.append(secret)
        athlete_id, _ = athlete_with_token(runtime)
        analyze_all(runtime, spike_history(runtime, athlete_id))
        first = rx.received[0]["id"]
        with runtime.db.session() as s:
            ids = svc.replay(s, s.get(Endpoint, ep_id), message_id=first)["replayed"]
        jobs.deliver(runtime, ids[0])
        runtime.queue.drain()
    assert [m["id"] for m in rx.received].count(first) == 2
    assert rx.received[-1]["raw"] == rx.received[0]["raw"]  # the same bytes


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owner_told(runtime, settings):
    with Receiver() as rx:
        ep_id, secret = endpoint(runtime, rx.url)
        with runtime.db.session() as s:
            ep = s.get(Endpoint, ep_id)
            ep.owner_email, ep.failing_since = "ops@example.com", utcnow() - timedelta(days=5, seconds=1)
        rx.failures_left = 10**6
        athlete_id, _ = athlete_with_token(runtime)
        analyze_all(runtime, spike_history(runtime, athlete_id))
        runtime.queue.drain()
    with runtime.db.session() as s:
        ep = s.get(Endpoint, ep_id)
        assert ep.status == "disabled" and "5 days" in ep.disabled_reason
        notice = s.scalar(select(Delivery).where(Delivery.event_type == "endpoint.disabled"))
        assert notice is not None and notice.target == "ops@example.com"
        assert s.scalar(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == notice.id)
                        ).outcome == "ok"


def test_integrator_endpoints_get_only_runners_who_consented(runtime, client):
    """An integrator's endpoint (created with its API key) needs the runner's consent; the
    operator's own endpoint does not."""
    with Receiver() as rx:
        with runtime.db.session() as s:
            ep, secret = svc.create(s, runtime.box, url=rx.url, events=["finding.created"],
                                    allow_loopback=True)
            ep.owner_key_id = "key_integrator"
        rx.secrets.append(secret)
        quiet_id, _ = athlete_with_token(runtime, "quiet@example.com")
        sharing_id, auth = athlete_with_token(runtime, "sharing@example.com")
        r = client.put(f"/v1/athletes/{sharing_id}/preferences", json={"integrators": True},
                       headers=auth)
        assert r.status_code == 200 and r.get_json()["integrators"] is True
        analyze_all(runtime, spike_history(runtime, quiet_id) + spike_history(runtime, sharing_id))
    assert rx.received
    assert {m["payload"]["data"]["athlete_id"] for m in rx.received} == {sharing_id}
