"""The club dashboard: most at risk first and paged; the finding column shows the most severe recent
finding; a member who shares but has not run reads "no runs in the last 4 weeks", not "not shared"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain import accounts, club_stats, clubs
from tests.clubs.world import add_finding, add_run


def _member(s, invite, athlete_id: str, scope: list[str]) -> str:
    clubs.accept_invite(s, invite, athlete_id, scope)
    return athlete_id


def test_most_severe_first_paged_and_honest_labels(runtime):
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        invite, _ = clubs.create_invite(s, club.id)
        club_id = club.id
    now = datetime.now(UTC) - timedelta(hours=2)
    ids = {n: accounts.add_athlete(runtime, f"{n}@example.com")[0]
           for n in ("risky", "idle", "private", "calm0", "calm1", "calm2", "calm3")}
    with runtime.db.session() as s:
        risky = _member(s, invite, ids["risky"], ["findings", "distance"])
        run = add_run(s, risky, now - timedelta(days=3), 20.0)
        add_finding(s, risky, run, rule="weekly_jump", severity="caution", sources=["upload"],
                    days_ago=1)  # newer but milder
        add_finding(s, risky, run, rule="single_run_spike", severity="high", sources=["upload"],
                    days_ago=3)
        idle = _member(s, invite, ids["idle"], ["findings", "distance"])
        add_run(s, idle, now - timedelta(days=60), 8.0)
        private = _member(s, invite, ids["private"], ["distance"])
        add_run(s, private, now - timedelta(days=2), 8.0)
        calm = [_member(s, invite, ids[f"calm{i}"], ["findings"]) for i in range(4)]
        for a in calm:
            add_run(s, a, now - timedelta(days=1), 5.0)
    as_of = club_stats.today()
    with runtime.db.session() as s:
        first, total = club_stats.dashboard_page(s, club_id, as_of, page=1, per_page=3)
        last, _ = club_stats.dashboard_page(s, club_id, as_of, page=3, per_page=3)
        everyone = club_stats.dashboard(s, club_id, as_of)
    assert total == 7 and len(first) == 3 and len(last) == 1
    assert first[0]["athlete_id"] == risky
    assert first[0]["latest_finding"]["rule"] == "single_run_spike"  # high beats newer caution
    by_id = {r["athlete_id"]: r for r in everyone}
    assert by_id[idle]["recent"] == "no runs in the last 4 weeks"
    assert by_id[private]["recent"] == "not shared"
    assert {by_id[a]["recent"] for a in calm} == {"nothing found"}
    assert [r["athlete_id"] for r in everyone][:1] == [risky]
