"""A finding keeps its id across re-analyses, and integrators hear when one no longer holds."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from service.domain import endpoints as svc
from service.domain.findings import finding_id, upsert_findings
from service.infra.loopback import free_port
from service.models import Delivery, Finding
from testkit.receiver import Receiver
from tests.helpers import analyze_all, athlete_with_token, spike_history, store_runs
from workers.notify.catalog import validate_payload


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(webhook_allow_loopback=True)


def result(rule: str, activity: str | None) -> SimpleNamespace:
    """What the rules return, as far as the upsert reads it."""
    return SimpleNamespace(rule=rule, severity="caution", value=1.8, threshold=1.5, message="m",
                           evidence={}, sources=("upload",), activity=activity)


def test_a_finding_keeps_its_id_when_it_comes_back(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    day = date(2026, 3, 1)
    with runtime.db.session() as s:
        first = upsert_findings(s, athlete_id, day, [result("weekly_descent", None)]).created
        first_id = first[0].id
    with runtime.db.session() as s:
        upsert_findings(s, athlete_id, day, [])  # a re-analysis without it: the row goes
        assert s.scalars(select(Finding)).all() == []
    with runtime.db.session() as s:
        again = upsert_findings(s, athlete_id, day, [result("weekly_descent", None)]).created
        assert again[0].id == first_id == finding_id(athlete_id, "weekly_descent", day, "day")


def test_the_upsert_returns_the_withdrawals_it_planned(runtime):
    """The caller gets the `finding.withdrawn` rows to enqueue from the upsert's answer, not from
    a side channel on the session."""
    athlete_id, _ = athlete_with_token(runtime)
    day = date(2026, 3, 1)
    with runtime.db.session() as s:
        ep, _ = svc.create(s, runtime.box, url="http://127.0.0.1:9/op", events=["finding.created"],
                           allow_loopback=True)
        created = upsert_findings(s, athlete_id, day, [result("weekly_descent", None)]).created
        s.add(Delivery(channel="webhook", target=ep.id, athlete_id=athlete_id, status="sent",
                       event_type="finding.created", attempt_count=1,
                       dedupe_key=f"webhook:{ep.id}:finding.created:{created[0].id}"))
    with runtime.db.session() as s:
        gone = upsert_findings(s, athlete_id, day, [])
        assert [(d.event_type, d.target) for d in gone.withdrawn] == [("finding.withdrawn", ep.id)]
        assert not any(isinstance(v, list) and v and isinstance(v[0], Delivery)
                       for v in s.info.values())  # nothing left behind for someone to pop


def test_a_delivered_finding_that_no_longer_holds_is_withdrawn_under_its_id(runtime):
    athlete_id, _ = athlete_with_token(runtime)
    with Receiver("127.0.0.1", free_port()) as rx:
        with runtime.db.session() as s:
            _, rx.secret = svc.create(s, runtime.box, url=f"http://127.0.0.1:{rx.port}/op",
                                      events=["finding.created"], allow_loopback=True)
        analyze_all(runtime, spike_history(runtime, athlete_id))
        spikes = [m for m in rx.verified if m["type"] == "finding.created"
                  and m["data"]["rule"] == "single_run_spike"]
        assert len(spikes) == 1
        # A longer run the day before arrives late (a backfill): the 18 km run is no spike any more.
        late = store_runs(runtime, athlete_id, {30: 20.0})
        with runtime.db.session() as s:
            again = s.scalars(select(Finding.id).where(Finding.rule == "single_run_spike",
                                                       Finding.date == _spike_day(spikes))).all()
            redo = late + _parsed(s)
        analyze_all(runtime, redo)
        withdrawn = [m for m in rx.verified if m["type"] == "finding.withdrawn"]
    assert again == [spikes[0]["data"]["id"]]  # still there before the re-analysis
    assert [m["data"]["id"] for m in withdrawn] == [spikes[0]["data"]["id"]]
    validate_payload("finding.withdrawn", withdrawn[0])
    assert withdrawn[0]["data"]["reason"] == "no_longer_holds"
    with runtime.db.session() as s:
        assert s.scalars(select(Finding).where(Finding.id == spikes[0]["data"]["id"])).all() == []
        kinds = s.scalars(select(Delivery.event_type).where(Delivery.channel == "webhook")).all()
    assert kinds.count("finding.withdrawn") == 1


def _spike_day(spikes):
    return date.fromisoformat(spikes[0]["data"]["date"])


def _parsed(s) -> list[str]:
    from service.models import Activity

    return list(s.scalars(select(Activity.id).where(Activity.status == "parsed")).all())
