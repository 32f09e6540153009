"""The club dashboard: most at risk first and paged; the finding column shows the most severe recent
finding; a member who shares but has not run reads "no runs in the last 4 weeks", not "not shared"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain import accounts, club_stats, clubs
from service.models import Athlete
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


def test_pages_rank_only_what_the_club_may_see_and_cover_everyone_once(runtime):
    """Ranking reads the members' finding severities alone, rows read one page's members: both
    must agree with the one-pass dashboard. A Strava-based finding, a finding about a private run
    and the findings of a member who does not share them never raise a rank; members with the
    same display name still land on exactly one page each."""
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        invite, _ = clubs.create_invite(s, club.id)
        club_id = club.id
    now = datetime.now(UTC) - timedelta(hours=2)
    ids = [accounts.add_athlete(runtime, f"m{i}@example.com")[0] for i in range(9)]
    with runtime.db.session() as s:
        for i, aid in enumerate(ids):
            member = clubs.accept_invite(s, invite, aid, ["findings", "distance"] if i != 3
                                         else ["distance"])
            member.share_name = True
            s.get(Athlete, aid).display_name = "Ana P."  # the same name for all
            run = add_run(s, aid, now - timedelta(days=2), 6.0 + i)
            if i in (0, 1):
                add_finding(s, aid, run, rule="weekly_jump", severity="caution",
                            sources=["upload"])
        strava_run = add_run(s, ids[4], now - timedelta(days=1), 9.0, source="strava")
        add_finding(s, ids[4], strava_run, rule="single_run_spike", severity="high",
                    sources=["strava"])
        hidden = add_run(s, ids[5], now - timedelta(days=1), 9.0, private=True)
        add_finding(s, ids[5], hidden, rule="single_run_spike", severity="high",
                    sources=["upload"])
        add_finding(s, ids[3], None, rule="weekly_descent", severity="high", sources=["upload"])
    as_of = club_stats.today()
    with runtime.db.session() as s:
        everyone = club_stats.dashboard(s, club_id, as_of)
        paged = [r for page in (1, 2, 3) for r in
                 club_stats.dashboard_page(s, club_id, as_of, page=page, per_page=4)[0]]
    assert [r["athlete_id"] for r in paged] == [r["athlete_id"] for r in everyone]
    assert sorted(r["athlete_id"] for r in paged) == sorted(ids)
    assert paged == everyone  # the same rows, findings and weeks, whichever way they were read
    assert {r["athlete_id"] for r in paged[:2]} == {ids[0], ids[1]}
    assert all(r["risk"]["level"] == "none" for r in paged[2:])
    assert {r["latest_finding"] is None for r in paged[2:]} == {True}
