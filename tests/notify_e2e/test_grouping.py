"""What the runner is emailed when findings arrive over a week: one email per analysis, a topic
(rule, local week) once unless it escalates, nothing lost when findings are withdrawn, and the
runner's preferences applied when the email is sent, not only when it was planned.

Findings are stored by the analyze job's own upsert and planned by its own planner; emails go
through the deliver job to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from service.domain import deliveries
from service.domain.findings import upsert_findings
from service.infra import sweeper
from service.models import Athlete, Delivery, Finding
from tests.helpers import athlete_with_token, spike_history, store_runs
from tests.notify_e2e.smtp import plain

TUE, SUN = date(2026, 3, 3), date(2026, 3, 8)  # one local week (Monday 2 March)
NEXT_TUE = date(2026, 3, 10)


@pytest.fixture
def settings(base_settings, inbox):
    return base_settings.with_overrides(smtp_url=inbox.url)


def result(rule: str, severity: str = "caution", activity: str | None = None):
    return SimpleNamespace(rule=rule, severity=severity, value=1.8, threshold=1.5,
                           message=f"{rule} message", evidence={"evidence": "expert opinion"},
                           sources=("upload",), activity=activity)


def analyse(runtime, athlete_id: str, day: date, *results) -> list[str]:
    """One analysis of `day` whose rules found `results` (all of the day's findings): upsert,
    plan, commit. Returns the planned delivery ids (not yet sent)."""
    with runtime.db.session() as s:
        up = upsert_findings(s, athlete_id, day, list(results))
        planned = deliveries.plan_findings(s, s.get(Athlete, athlete_id), up.created,
                                           escalated=up.escalated, lost=up.lost)
        s.flush()
        return [d.id for d in planned]


def runs(runtime, athlete_id: str) -> tuple[str, str]:
    """Two stored runs for activity findings to be about."""
    a1, a2 = store_runs(runtime, athlete_id, {0: 10.0, 2: 12.0})
    return a1, a2


def send(runtime, ids) -> None:
    deliveries.enqueue(runtime, ids)
    runtime.queue.drain()


def rules_in(message) -> list[str]:
    return re.findall(r"\(rule: (\w+);", plain(message))


def set_prefs(runtime, athlete_id: str, **prefs) -> None:
    with runtime.db.session() as s:
        athlete = s.get(Athlete, athlete_id)
        athlete.preferences = {**(athlete.preferences or {}), **prefs}


def test_one_analysis_is_one_email_most_severe_first(runtime, inbox):
    athlete_id, _ = athlete_with_token(runtime)
    send(runtime, analyse(runtime, athlete_id, SUN, result("weekly_jump"),
                          result("weekly_descent", "high"), result("acwr", "info")))
    [mail] = inbox.messages
    assert rules_in(mail) == ["weekly_descent", "weekly_jump"]  # info is below the floor


def test_an_info_only_batch_is_emailed_only_to_a_runner_who_asked_for_info(runtime, inbox):
    athlete_id, _ = athlete_with_token(runtime)
    assert analyse(runtime, athlete_id, TUE, result("acwr", "info")) == []
    set_prefs(runtime, athlete_id, min_severity="info")
    send(runtime, analyse(runtime, athlete_id, SUN, result("acwr", "info")))
    assert [rules_in(m) for m in inbox.messages] == [["acwr"]]


def test_a_topic_is_emailed_once_a_week_unless_it_escalates(runtime, inbox):
    athlete_id, _ = athlete_with_token(runtime)
    a1, a2 = runs(runtime, athlete_id)
    send(runtime, analyse(runtime, athlete_id, TUE, result("single_run_spike", activity=a1)))
    # Sunday: another run longer than usual (same rule, same week, same severity) and a new topic
    send(runtime, analyse(runtime, athlete_id, SUN, result("single_run_spike", activity=a2),
                          result("weekly_jump")))
    assert [rules_in(m) for m in inbox.messages] == [["single_run_spike"], ["weekly_jump"]]
    # a re-analysis of Sunday that finds the spike twice as bad: an escalation is news
    send(runtime, analyse(runtime, athlete_id, SUN, result("single_run_spike", "high", a2),
                          result("weekly_jump")))
    assert rules_in(inbox.messages[-1]) == ["single_run_spike"]
    # next week is another week
    send(runtime, analyse(runtime, athlete_id, NEXT_TUE, result("weekly_jump")))
    assert len(inbox.messages) == 4 and rules_in(inbox.messages[-1]) == ["weekly_jump"]


def test_a_finding_withdrawn_before_sending_is_left_out_and_silences_nothing(runtime, inbox):
    athlete_id, _ = athlete_with_token(runtime)
    a1, a2 = runs(runtime, athlete_id)
    planned = analyse(runtime, athlete_id, TUE, result("single_run_spike", activity=a1),
                      result("weekly_jump"))
    analyse(runtime, athlete_id, TUE, result("weekly_jump"))  # a late file: the spike is gone
    send(runtime, planned)
    assert [rules_in(m) for m in inbox.messages] == [["weekly_jump"]]
    # the spike was never told, so a spike later that week is emailed
    send(runtime, analyse(runtime, athlete_id, SUN, result("single_run_spike", activity=a2)))
    assert rules_in(inbox.messages[-1]) == ["single_run_spike"]
    with runtime.db.session() as s:
        first = s.get(Delivery, planned[0])
        assert first.payload["included"] == [s.scalar(select(Finding.id).where(
            Finding.rule == "weekly_jump"))]


def test_an_email_not_yet_sent_takes_in_the_next_analysis(runtime, inbox):
    """A watch syncs three days at once (or the mail server was down): one email, not three."""
    athlete_id, _ = athlete_with_token(runtime)
    a1, _ = runs(runtime, athlete_id)
    first = analyse(runtime, athlete_id, TUE, result("single_run_spike", activity=a1))
    second = analyse(runtime, athlete_id, SUN, result("weekly_descent"), result("weekly_jump"))
    assert second == first
    send(runtime, first + second)
    [mail] = inbox.messages
    assert sorted(rules_in(mail)) == ["single_run_spike", "weekly_descent", "weekly_jump"]


def test_an_email_a_worker_has_claimed_is_not_changed(runtime, inbox):
    from workers.deliver import _claim

    athlete_id, _ = athlete_with_token(runtime)
    a1, _ = runs(runtime, athlete_id)
    first = analyse(runtime, athlete_id, TUE, result("single_run_spike", activity=a1))
    assert _claim(runtime, first[0]) is not None  # a worker is sending it right now
    second = analyse(runtime, athlete_id, SUN, result("weekly_jump"))
    assert second and second != first
    with runtime.db.session() as s:
        assert len(s.get(Delivery, first[0]).payload["finding_ids"]) == 1


def test_preferences_apply_when_the_email_is_sent(runtime, inbox):
    athlete_id, _ = athlete_with_token(runtime)
    planned = analyse(runtime, athlete_id, TUE, result("weekly_jump"), result("acwr", "info"))
    set_prefs(runtime, athlete_id, min_severity="high")  # raised before the send
    send(runtime, planned)
    planned = analyse(runtime, athlete_id, SUN, result("weekly_descent", "high"))
    set_prefs(runtime, athlete_id, email=False)  # unsubscribed before the send
    send(runtime, planned)
    assert inbox.messages == []
    with runtime.db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.channel == "email")
                         .order_by(Delivery.created_at)).all()
        assert [d.status for d in rows] == ["cancelled", "cancelled"]
    # what was never sent is not "told": with email back on, the next news about it is emailed
    set_prefs(runtime, athlete_id, email=True, min_severity="caution")
    send(runtime, analyse(runtime, athlete_id, SUN, result("weekly_descent", "high"),
                          result("weekly_jump")))
    assert [rules_in(m) for m in inbox.messages] == [["weekly_jump"]]


def test_a_crash_between_planning_and_sending_still_sends_once(runtime, inbox):
    """The analysis committed its email and died before handing it to the queue (or Redis was
    flushed): the sweeper sends it, once."""
    from service.infra import runtime as runtime_mod
    from workers.analyze import analyze_activity

    athlete_id, _ = athlete_with_token(runtime)
    ids = spike_history(runtime, athlete_id)
    runtime_mod._current = runtime
    for activity_id in ids:
        analyze_activity(activity_id)  # the job itself: commits, then enqueues its deliveries
    runtime.queue.redis.flushdb()  # ...which are lost
    assert inbox.messages == []
    for _ in range(2):
        sweeper.sweep(runtime)
        runtime.queue.drain()
    assert len(inbox.messages) == 1 and "single_run_spike" in rules_in(inbox.messages[0])


def test_rows_planned_before_grouping_still_count(runtime, inbox):
    """Emails and notes planned by the previous planner carry only ids: a sent email still tells
    its findings' topics, and an old note still shows the run's findings."""
    from service.domain import grouping

    athlete_id, _ = athlete_with_token(runtime)
    a1, a2 = runs(runtime, athlete_id)
    with runtime.db.session() as s:
        spike = upsert_findings(s, athlete_id, TUE, [result("single_run_spike", activity=a1)])
        s.add(Delivery(channel="email", dedupe_key="email:legacy", athlete_id=athlete_id,
                       target="runner@example.com", event_type="finding.created",
                       status="sent", payload={"finding_ids": [spike.created[0].id]}))
        s.add(Delivery(channel="strava_note", dedupe_key="strava_note:legacy", target=a1,
                       athlete_id=athlete_id, event_type="finding.created", status="sent",
                       payload={"activity_id": a1}))
    assert analyse(runtime, athlete_id, SUN, result("single_run_spike", activity=a2)) == []
    with runtime.db.session() as s:
        assert [f.rule for f in grouping.note_findings(s, a1)] == ["single_run_spike"]
