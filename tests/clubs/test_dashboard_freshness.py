"""Whatever the dashboard reads to rank and count a club (issue 28 asks for a maintained summary
or index-only plans), consent and analysis take effect at once: a member who withdraws is gone
from the ranking and the counts on the very next request, and a finding that a re-analysis
withdraws stops ranking its member on the very next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain import accounts, club_stats, clubs
from service.domain.findings import upsert_findings
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
