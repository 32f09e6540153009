"""The same bad week arriving from Strava push by push: one note per activity that has something to
say, each written once, grouping that run's findings (the race's note carries the weekly jump and
descent its upload caused); a re-analysis writes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from service.integrations.strava.note import BEGIN
from service.models import Activity, Delivery
from tests.helpers import settle
from tests.notify_e2e.bad_week import bad_monday, bad_week, ordinary_weeks

from .conftest import connect


@pytest.fixture
def settings(settings):
    # A deployment that chose a weekly-jump caution (context only by default since the rules'
    # second pass): these tests are about how a week's findings reach the notes, not about that
    # threshold (the same settings as tests/notify_e2e/test_bad_week.py; weekly descent is
    # context by default too since issue 23, a caution above 1,500 m as it was before).
    return settings.with_overrides(notify_max_age_days=21,
                                   thresholds={"weekly_jump_caution_ratio": 1.55,
                                               "weekly_descent_caution_m": 1500.0})


def _at(run) -> datetime:
    # Strava's fake says the runner is in UTC+1: 07:00 UTC is a morning run on the same day.
    return datetime.combine(run.day, time(7, 0), tzinfo=UTC)


def _push(runtime, fake, strava_athlete, run, description=None) -> int:
    aid = fake.add_activity(strava_athlete, _at(run), run.km * 1000.0, climb_m=run.climb_m,
                            description=description)
    assert fake.send_event("activity", aid, "create", strava_athlete).status_code == 200
    settle(runtime)
    return aid


def _puts(fake) -> Counter:
    return Counter(p for m, p in fake.calls if m == "PUT")


def _connected_with_ordinary_weeks(runtime, fake, live, token) -> tuple[int, date]:
    """A Strava runner whose ordinary weeks before the bad week are in, connected and analysed."""
    strava_athlete = fake.add_athlete()
    monday = bad_monday()
    for run in ordinary_weeks(monday):
        fake.add_activity(strava_athlete, _at(run), run.km * 1000.0, climb_m=run.climb_m)
    fake.subscribe_directly(f"{live.url}/webhooks/strava")
    assert connect(live, fake, token, strava_athlete).status_code == 200
    settle(runtime)
    return strava_athlete, monday


def test_a_bad_week_from_strava_is_one_note_per_run_written_once(runtime, fake, live, runner):
    _athlete_id, token = runner
    strava_athlete, monday = _connected_with_ordinary_weeks(runtime, fake, live, token)
    fake.reset_calls()

    week = bad_week(monday)
    ids = {name: _push(runtime, fake, strava_athlete, week[name],
                       "Race day!" if name == "sun_race" else None)
           for name in ("mon", "tue_long", "thu", "sat", "sun_race")}
    puts = _puts(fake)
    assert puts == {f"/api/v3/activities/{ids['tue_long']}": 1,
                    f"/api/v3/activities/{ids['sun_race']}": 1}
    race = fake.activities[ids["sun_race"]]["description"]
    assert race.startswith("Race day!\n\n" + BEGIN)
    lines = race.split(BEGIN, 1)[1].splitlines()
    # the run's own findings and the week's, one short sentence each (3 at most, then "+N more")
    assert "A bigger week than usual." in lines or "More downhill this week than usual." in lines
    assert "More downhill than recent runs." in lines
    assert any(line.startswith("+") and line.endswith("more") for line in lines)
    assert fake.activities[ids["mon"]]["description"] is None

    # re-analysing the race (a retried job) writes nothing
    fake.reset_calls()
    with runtime.db.session() as s:
        s.execute(update(Activity).where(Activity.provider_activity_id == str(ids["sun_race"]))
                  .values(status="parsed"))
    settle(runtime)
    assert _puts(fake) == {}
    with runtime.db.session() as s:
        notes = s.scalars(select(Delivery).where(Delivery.channel == "strava_note")).all()
        assert len(notes) == 2 and {d.status for d in notes} == {"sent"}
    assert timedelta(0) <= datetime.now(UTC) - _at(week["sun_race"]) < timedelta(days=14)


def test_a_week_finding_that_moves_to_another_day_leaves_the_race_note(runtime, fake, live,
                                                                        runner, client):
    """Hill runs on Friday and Saturday arrive later from a watch file. Friday's makes the week a
    caution-level jump (news: the race's note, whose analysis raised it, gains it); Saturday's
    makes the big descent week Saturday's finding, so the race note loses that line. One write
    each, and the race's own findings stay."""
    from tests.notify_e2e.bad_week import Run, upload

    athlete_id, token = runner
    strava_athlete, monday = _connected_with_ordinary_weeks(runtime, fake, live, token)
    week = bad_week(monday)
    for name in ("mon", "tue_long"):
        _push(runtime, fake, strava_athlete, week[name])
    race = _push(runtime, fake, strava_athlete, week["sun_race"])
    assert "More downhill this week than usual." in fake.activities[race]["description"]
    fake.reset_calls()

    auth = {"Authorization": f"Bearer {token}"}
    for day in (4, 5):  # Friday, Saturday: 800 m down each (the race stays a novel descent)
        upload(client, runtime, athlete_id, auth,
               Run(f"hills-{day}", monday + timedelta(days=day), 10.0, 800.0))
    assert _puts(fake) == {f"/api/v3/activities/{race}": 2}
    note = fake.activities[race]["description"]
    assert "More downhill this week than usual." not in note
    assert "More downhill than recent runs." in note and "A bigger week than usual." in note
