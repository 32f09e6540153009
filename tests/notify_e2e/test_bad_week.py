"""One bad week, uploaded run by run through the real API and worker: the runner hears about it in
two emails (the long run on Tuesday, the race week on Sunday), not one per finding; integrators
still get one `finding.created` per finding; a re-analysis sends nothing new.

Real SMTP (aiosmtpd), a real webhook receiver verifying signatures; SQLite + embedded queue, or
PostgreSQL + Redis when DATABASE_URL / REDIS_URL are set."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from service.models import Activity, Delivery, Finding
from testkit.receiver import Receiver
from tests.helpers import athlete_with_token, endpoint, settle
from tests.notify_e2e.bad_week import bad_monday, bad_week, ordinary_weeks, upload
from tests.notify_e2e.smtp import plain


@pytest.fixture
def settings(base_settings, inbox):
    # The bad week is last week: its Tuesday may be up to 13 days old when the test runs.
    # A deployment that chose a weekly-jump caution (the default is context only since issue 22):
    # these tests are about how an escalation is delivered, not about that threshold. At 1.55x
    # the rolling 7 days reach it on Sunday (75 km vs 41), not on Saturday (63 km, 1.54x), and
    # without Thursday's and Saturday's files Sunday is context (55 km, 1.34x). Weekly descent is
    # context by default too since issue 23 (knee_load carries descent): a caution above 1,500 m,
    # as it was before, keeps this test about delivery.
    return base_settings.with_overrides(smtp_url=inbox.url, notify_max_age_days=21,
                                        webhook_allow_loopback=True,
                                        thresholds={"weekly_jump_caution_ratio": 1.55,
                                                    "weekly_descent_caution_m": 1500.0})


@pytest.fixture
def receiver():
    r = Receiver()
    with r.server:
        yield r


def _runner(client, runtime, receiver):
    athlete_id, auth = athlete_with_token(runtime, "runner@example.com")
    ep_id, secret = endpoint(runtime, receiver.url)
    receiver.secrets.append(secret)
    for run in ordinary_weeks(bad_monday()):
        upload(client, runtime, athlete_id, auth, run)
    return athlete_id, auth


def _day(d) -> str:
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}"


def test_a_bad_week_gives_two_emails_and_one_webhook_per_finding(client, runtime, inbox, receiver):
    athlete_id, auth = _runner(client, runtime, receiver)
    assert inbox.messages == []  # five ordinary weeks: nothing to say
    week = bad_week(bad_monday())
    counts = {}
    ids = {}
    for name in ("mon", "tue_long", "thu", "sat", "sun_race"):
        ids[name] = upload(client, runtime, athlete_id, auth, week[name])
        counts[name] = len(inbox.messages)
    assert counts == {"mon": 0, "tue_long": 1, "thu": 1, "sat": 1, "sun_race": 2}

    tuesday, sunday = (plain(m) for m in inbox.messages)
    assert re.search(r"Your 22\.\d km run on " + _day(week["tue_long"].day), tuesday)
    rules = re.findall(r"\(rule: (\w+);", sunday)
    assert set(rules) == {"weekly_jump", "weekly_descent", "downhill_novel"}
    # the race is also longer than Tuesday's run: the same rule in the same week is not sent twice
    with runtime.db.session() as s:
        spikes = s.scalars(select(Finding).where(Finding.rule == "single_run_spike")).all()
        assert {f.activity_id for f in spikes} == {ids["tue_long"], ids["sun_race"]}
    assert "single_run_spike" not in rules
    assert _day(week["sun_race"].day) in sunday
    assert "week" in inbox.messages[1]["Subject"]

    # integrators: one finding.created per finding, ids as stored
    with runtime.db.session() as s:
        stored = set(s.scalars(select(Finding.id)))
    created = [m["payload"]["data"]["id"] for m in receiver.received
               if m["payload"]["type"] == "finding.created"]
    assert sorted(created) == sorted(stored) and len(created) == len(set(created))

    # a re-analysis of the race (a retried job, a threshold check) sends nothing new
    before = len(receiver.received)
    with runtime.db.session() as s:
        s.execute(update(Activity).where(Activity.id == ids["sun_race"]).values(status="parsed"))
    settle(runtime)
    assert len(inbox.messages) == 2 and len(receiver.received) == before


def test_late_files_that_make_the_week_worse_are_one_more_email(client, runtime, inbox,
                                                                receiver):
    """Thursday's and Saturday's runs sync after Sunday's race. Without them the week is 1.35x
    the usual (context: not emailed); Thursday's file makes it a caution. That is news (an
    escalation) and is emailed once, alone; Saturday's file repeats nothing."""
    athlete_id, auth = _runner(client, runtime, receiver)
    week = bad_week(bad_monday())
    for name in ("mon", "tue_long", "sun_race"):
        upload(client, runtime, athlete_id, auth, week[name])
    assert len(inbox.messages) == 2
    assert "weekly_jump" not in plain(inbox.messages[1])
    upload(client, runtime, athlete_id, auth, week["thu"])
    assert len(inbox.messages) == 3
    assert re.findall(r"\(rule: (\w+);", plain(inbox.messages[2])) == ["weekly_jump"]
    assert "In the 7 days to Sun " in plain(inbox.messages[2])  # named by its days, not "last"
    upload(client, runtime, athlete_id, auth, week["sat"])
    assert len(inbox.messages) == 3
    with runtime.db.session() as s:
        emails = s.scalars(select(Delivery).where(Delivery.channel == "email")).all()
        assert {d.status for d in emails} == {"sent"}
        # Rolling windows: Tuesday's 7 days (61 km) were already context; Sunday's is the caution.
        jumps = s.scalars(select(Finding).where(Finding.rule == "weekly_jump")
                          .order_by(Finding.date)).all()
        assert [j.severity for j in jumps] == ["info", "caution"]
        jump = jumps[-1]
    created = [m["payload"]["data"]["id"] for m in receiver.received
               if m["payload"]["type"] == "finding.created"]
    assert created.count(jump.id) == 1  # integrators heard of it once, when it was created
