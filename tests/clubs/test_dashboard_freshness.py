"""Whatever the dashboard reads to rank and count a club (issue 28 asks for a maintained summary
or index-only plans), consent and analysis take effect at once: a member who withdraws is gone
from the ranking and the counts on the very next request, and a finding that a re-analysis
withdraws stops ranking its member on the very next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from service.domain import accounts, club_stats, clubs
from service.domain.findings import upsert_findings
from service.models import Activity, Athlete, ClubMember
from tests.clubs.world import add_finding, add_run


def _club(runtime, n: int) -> tuple[str, list[str], dict]:
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        invite, _ = clubs.create_invite(s, club.id)
        _, key = clubs.issue_key(s, "club", "reader", ["read"], club_id=club.id)
        club_id = club.id
    ids = [accounts.add_athlete(runtime, f"m{i}@example.com")[0] for i in range(n)]
    with runtime.db.session() as s:
        for aid in ids:
            clubs.accept_invite(s, s.merge(invite), aid, ["findings", "distance"])
    return club_id, ids, {"Authorization": f"Bearer {key}"}


def _ranking(runtime, club_id: str) -> tuple[list[str], int]:
    with runtime.db.session() as s:
        rows, total = club_stats.dashboard_page(s, club_id, club_stats.today(), page=1,
                                                per_page=50)
    return [r["athlete_id"] for r in rows], total


def test_a_member_who_withdraws_leaves_ranking_and_counts_at_once(client, runtime):
    club_id, ids, headers = _club(runtime, 3)
    risky = ids[1]
    with runtime.db.session() as s:
        run = add_run(s, risky, datetime.now(UTC) - timedelta(days=2), 12.0)
        add_finding(s, risky, run, rule="single_run_spike", severity="high", sources=["upload"])
    ranked, total = _ranking(runtime, club_id)  # the club has been read once (warm)
    assert ranked[0] == risky and total == 3
    with runtime.db.session() as s:
        clubs.withdraw(s, club_id, risky)
    ranked, total = _ranking(runtime, club_id)
    assert risky not in ranked and total == 2
    assert client.get(f"/v1/clubs/{club_id}", headers=headers).json["members_sharing"] == 2
    api = client.get(f"/v1/clubs/{club_id}/members", headers=headers).json["members"]
    assert risky not in {r["athlete_id"] for r in api}


def test_a_withdrawn_finding_leaves_the_ranking_at_once(runtime):
    club_id, ids, _ = _club(runtime, 3)
    risky = ids[2]
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    with runtime.db.session() as s:
        run = add_run(s, risky, datetime.now(UTC) - timedelta(days=1), 12.0)
        add_finding(s, risky, run, rule="single_run_spike", severity="high", sources=["upload"])
    ranked, _ = _ranking(runtime, club_id)
    assert ranked[0] == risky
    with runtime.db.session() as s:  # a re-analysis of that day no longer finds it
        upsert_findings(s, risky, day, [])
    ranked, _ = _ranking(runtime, club_id)
    with runtime.db.session() as s:
        rows, _ = club_stats.dashboard_page(s, club_id, club_stats.today(), page=1)
    by_id = {r["athlete_id"]: r for r in rows}
    assert by_id[risky]["risk"]["level"] == "none"
    assert ranked[0] != risky or all(r["risk"]["level"] == "none" for r in rows)


def _ranking_on(runtime, club_id: str, as_of) -> list[tuple[str, str]]:
    with runtime.db.session() as s:
        rows, _ = club_stats.dashboard_page(s, club_id, as_of, page=1, per_page=50)
    return [(r["athlete_id"], r["risk"]["level"]) for r in rows]


def test_a_finding_leaving_the_window_changes_the_rank_with_no_write(runtime):
    """Nothing is written between the two reads: the day moves on, and the member whose one
    finding is now older than the 28-day window is ranked as nothing found."""
    club_id, ids, _ = _club(runtime, 3)
    today = club_stats.today()
    with runtime.db.session() as s:
        run = add_run(s, ids[0], datetime.now(UTC) - timedelta(days=27), 12.0)
        add_finding(s, ids[0], run, rule="single_run_spike", severity="high",
                    sources=["upload"], days_ago=27)
    assert _ranking_on(runtime, club_id, today)[0] == (ids[0], "high")
    tomorrow = dict(_ranking_on(runtime, club_id, today + timedelta(days=1)))
    assert tomorrow[ids[0]] == "none"


def test_a_finding_dated_ahead_enters_the_window_on_its_day(runtime):
    """A run in a time zone ahead of UTC can carry tomorrow's date: it ranks from that day on,
    with no write on the day itself."""
    club_id, ids, _ = _club(runtime, 2)
    today = club_stats.today()
    with runtime.db.session() as s:
        run = add_run(s, ids[1], datetime.now(UTC) + timedelta(days=1), 12.0)
        add_finding(s, ids[1], run, rule="single_run_spike", severity="caution",
                    sources=["upload"], days_ago=-1)
    assert dict(_ranking_on(runtime, club_id, today))[ids[1]] == "none"
    assert _ranking_on(runtime, club_id, today + timedelta(days=1))[0] == (ids[1], "caution")


def test_consent_given_and_narrowed_takes_effect_at_once(runtime):
    club_id, ids, _ = _club(runtime, 2)
    newcomer = accounts.add_athlete(runtime, "new@example.com")[0]
    with runtime.db.session() as s:
        run = add_run(s, newcomer, datetime.now(UTC) - timedelta(days=1), 12.0)
        add_finding(s, newcomer, run, rule="single_run_spike", severity="high",
                    sources=["upload"])
    _ranking(runtime, club_id)  # the club has been read once (warm)
    with runtime.db.session() as s:
        invite, _ = clubs.create_invite(s, club_id)
        clubs.accept_invite(s, invite, newcomer, ["findings", "distance"])
    ranked, total = _ranking(runtime, club_id)
    assert ranked[0] == newcomer and total == 3
    with runtime.db.session() as s:  # re-joins sharing distances only
        clubs.withdraw(s, club_id, newcomer)
        invite, _ = clubs.create_invite(s, club_id)
        clubs.accept_invite(s, invite, newcomer, ["distance"])
    rows = dict(_ranking_on(runtime, club_id, club_stats.today()))
    assert rows[newcomer] == "none"


def test_a_run_made_private_and_a_rename_move_the_member_at_once(runtime):
    club_id, ids, _ = _club(runtime, 3)
    with runtime.db.session() as s:
        run = add_run(s, ids[2], datetime.now(UTC) - timedelta(days=3), 12.0)
        add_finding(s, ids[2], run, rule="single_run_spike", severity="caution",
                    sources=["upload"], days_ago=3)
        for aid, name in zip(ids, ("Cleo", "Bea", "Zoe"), strict=True):
            s.get(Athlete, aid).display_name = name
        s.execute(update(ClubMember).where(ClubMember.club_id == club_id).values(share_name=True))
    assert _ranking(runtime, club_id)[0] == [ids[2], ids[1], ids[0]]  # Zoe's caution first
    with runtime.db.session() as s:  # the provider says the run is private now
        s.execute(update(Activity).where(Activity.id == run).values(private=True))
    assert _ranking(runtime, club_id)[0] == [ids[1], ids[0], ids[2]]  # Bea, Cleo, Zoe
    with runtime.db.session() as s:
        s.get(Athlete, ids[2]).display_name = "Ada"
    assert _ranking(runtime, club_id)[0] == [ids[2], ids[1], ids[0]]  # Ada, Bea, Cleo
