"""A Garmin run's local day comes from the summary's `startTimeOffsetInSeconds` (the watch's
display-time offset, apis.md §7.1), not from UTC: a Sunday-evening run in Los Angeles belongs to
that Sunday and its Monday-started week, whatever the athlete's default offset."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from service.integrations.garmin.jobs import summary_track
from service.integrations.garmin.notifications import ActivitySummary
from service.models import Activity
from workers.analysis import weekly_table
from workers.analyze import load_history, local_date

# Sunday 2026-01-04 17:30 at UTC-8 is Monday 2026-01-05 01:30 UTC.
SUNDAY_EVENING_UTC = int(datetime(2026, 1, 5, 1, 30, tzinfo=UTC).timestamp())
PACIFIC = -8 * 3600


def test_a_sunday_evening_run_in_utc_minus_8_lands_on_sunday_and_its_week(
        fake, live, runtime, athlete, garmin_user):
    run = fake.add_activity(garmin_user, summary={
        "startTimeInSeconds": SUNDAY_EVENING_UTC, "startTimeOffsetInSeconds": PACIFIC,
        "distanceInMeters": 8000.0, "durationInSeconds": 2700})
    assert fake.send_activities_push(garmin_user, [run]).status == 200
    runtime.queue.drain()
    with runtime.db.session() as s:
        [activity] = s.scalars(select(Activity)).all()
        assert activity.status == "analyzed"
        assert activity.metrics["utc_offset_s"] == PACIFIC
        assert local_date(activity) == date(2026, 1, 4)  # Sunday, not UTC's Monday
        history = load_history(s, athlete[0])
    weeks = {w["start"]: w["distance_m"] for w in weekly_table(history, date(2026, 1, 11))}
    assert weeks == {"2025-12-29": 8000.0, "2026-01-05": 0.0}  # the week that ends that Sunday


def test_a_summary_without_an_offset_leaves_the_local_day_to_the_athlete_setting():
    summary = ActivitySummary.model_validate({
        "summaryId": "1", "startTimeInSeconds": SUNDAY_EVENING_UTC, "activityType": "RUNNING",
        "manual": True})
    assert summary_track(summary).utc_offset_s is None  # unknown, not UTC
    summary = ActivitySummary.model_validate({
        "summaryId": "1", "startTimeInSeconds": SUNDAY_EVENING_UTC, "activityType": "RUNNING",
        "startTimeOffsetInSeconds": PACIFIC, "manual": True})
    assert summary_track(summary).utc_offset_s == PACIFIC
