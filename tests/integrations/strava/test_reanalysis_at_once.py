"""A push that changes an analysed history (an older run arrives, a run is deleted) sends the later
runs back to `parsed`; the ingest job enqueues their analysis right after its commit, from what the
write returned (no sweeper round here: a run still `parsed` after the drain was left behind)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.models import Activity


def _statuses(runtime) -> dict[str, str]:
    with runtime.db.session() as s:
        return dict(s.execute(select(Activity.provider_activity_id, Activity.status)).all())


def _push(runtime, fake, strava_athlete: int, hours_ago: float) -> str:
    run = fake.add_activity(strava_athlete, datetime.now(UTC) - timedelta(hours=hours_ago),
                            12_000.0, climb_m=30.0)
    assert fake.send_event("activity", run, "create", strava_athlete).status_code == 200
    runtime.queue.drain()
    return str(run)


def test_an_older_run_pushed_later_has_the_newer_one_analysed_at_once(runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    newer = _push(runtime, fake, strava_athlete, hours_ago=1)
    older = _push(runtime, fake, strava_athlete, hours_ago=5)
    statuses = _statuses(runtime)
    assert (statuses[newer], statuses[older]) == ("analyzed", "analyzed")
    assert "parsed" not in statuses.values()


def test_a_confirmed_delete_has_the_later_runs_analysed_at_once(runtime, fake, connected):
    _athlete_id, strava_athlete = connected
    older = _push(runtime, fake, strava_athlete, hours_ago=5)
    newer = _push(runtime, fake, strava_athlete, hours_ago=1)
    fake.delete_activity(int(older))
    assert fake.send_event("activity", int(older), "delete", strava_athlete).status_code == 200
    runtime.queue.drain()
    statuses = _statuses(runtime)
    assert older not in statuses and statuses[newer] == "analyzed"
    assert "parsed" not in statuses.values()
