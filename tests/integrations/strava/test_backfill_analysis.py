"""A runner who connects Strava gets the warnings of the history the backfill brought, once, on
/me (grouped by week), without an email or a Strava note for old news (issue 25)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import func, select

from service.integrations.strava.jobs import reconcile
from service.models import Delivery, Finding
from tests.integrations.strava.conftest import connect

LONG_DAYS_AGO = 20  # older than notify_max_age_days (7): old news, no email, no note


def _history(fake, athlete: int) -> int:
    """Easy 10 km every three days over the last eight weeks, and one 16 km run 20 days ago
    (1.6x the month before's longest); returns the long run's Strava id."""
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    for days in range(54, 1, -3):
        if days != LONG_DAYS_AGO + 1:  # the long run takes this slot
            fake.add_activity(athlete, now - timedelta(days=days), 10_000.0, climb_m=30.0)
    return fake.add_activity(athlete, now - timedelta(days=LONG_DAYS_AGO), 16_000.0, climb_m=30.0)


def _counts(runtime) -> tuple[int, int]:
    with runtime.db.session() as s:
        return (s.scalar(select(func.count(Finding.id))) or 0,
                s.scalar(select(func.count(Delivery.id))) or 0)


def test_a_backfilled_history_is_analysed_once_and_shown_without_notifying(runtime, fake, live,
                                                                           runner):
    athlete_id, token = runner
    strava_athlete = fake.add_athlete()
    long_run = _history(fake, strava_athlete)
    assert connect(live, fake, token, strava_athlete).status_code == 200
    runtime.queue.drain()

    with runtime.db.session() as s:
        findings = s.scalars(select(Finding).where(Finding.athlete_id == athlete_id)).all()
        dates = sorted(f.date for f in findings)
        channels = set(s.scalars(select(Delivery.channel)))
    long_day = (datetime.now(UTC) - timedelta(days=LONG_DAYS_AGO)).date()
    assert any(abs((d - long_day).days) <= 1 for d in dates), dates  # the long run is flagged
    assert dates[-1] < datetime.now(UTC).date() - timedelta(days=7), dates  # all old news
    assert not channels & {"email", "strava_note"}, channels
    assert all(a["description"] is None for a in fake.activities.values())
    assert fake.activities[long_run]["description"] is None

    page = requests.get(f"{live.url}/me", headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "text/html"}, timeout=10).text
    shown = page[page.index('id="findings"'):page.index('id="charts"')]
    assert "Nothing to flag" not in shown and '<h3 class="week">Week of' in shown

    before = _counts(runtime)
    assert reconcile()["syncs"] == 1  # the backfill again: nothing new to store or to flag
    runtime.queue.drain()
    assert _counts(runtime) == before
