"""Every write that can change a member's place on the dashboard marks the member's ranking key
due, whichever code path writes it: the database's triggers do it (migrations/rank_triggers.py),
not the code, so these tests write the way the service's paths do (ORM flushes, Core statements,
cascades) and read the mark back. Run on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update

from migrations.rank_triggers import TRIGGERS
from service.domain import accounts, club_ranking, club_stats, clubs, erasure
from service.models import Activity, Athlete, ClubMember, Finding
from tests.clubs.world import add_finding, add_run


def _club(runtime) -> tuple[str, str, str, str, str]:
    """A club of two sharing members; the first has a run with a finding. Keys computed once,
    so every row starts fresh (not due)."""
    with runtime.db.session() as s:
        club = clubs.create_club(s, "Harriers")
        invite, _ = clubs.create_invite(s, club.id)
        club_id = club.id
    ids = [accounts.add_athlete(runtime, f"r{i}@example.com")[0] for i in range(2)]
    with runtime.db.session() as s:
        for aid in ids:
            clubs.accept_invite(s, s.merge(invite), aid, ["findings", "distance"])
        run = add_run(s, ids[0], datetime.now(UTC) - timedelta(days=2), 12.0)
        finding = add_finding(s, ids[0], run, rule="single_run_spike", severity="caution",
                              sources=["upload"], days_ago=2)
    _refresh(runtime, club_id)
    assert not _is_due(runtime, ids[0]) and not _is_due(runtime, ids[1])
    return club_id, ids[0], ids[1], run, finding


def _refresh(runtime, club_id: str) -> None:
    with runtime.db.session() as s:
        club_ranking.refresh(s, club_id, club_stats.today())


def _is_due(runtime, athlete_id: str) -> bool:
    with runtime.db.session() as s:
        due = s.scalars(select(ClubMember.rank_due_on)
                        .where(ClubMember.athlete_id == athlete_id)).all()
    return any(d is not None and d <= club_stats.today() for d in due)


def _new_finding(s, aid, run, _finding):
    add_finding(s, aid, run, rule="weekly_jump", severity="info", sources=["upload"])


def _severity(s, _aid, _run, finding):
    s.get(Finding, finding).severity = "high"


def _finding_deleted(s, _aid, _run, finding):
    s.execute(delete(Finding).where(Finding.id == finding))


def _activity_deleted(s, _aid, run, _finding):  # the finding goes by ON DELETE CASCADE
    s.execute(delete(Activity).where(Activity.id == run))


def _made_private(s, _aid, run, _finding):
    s.execute(update(Activity).where(Activity.id == run).values(private=True))


def _renamed(s, aid, _run, _finding):
    s.get(Athlete, aid).display_name = "Someone Else"


def _name_shown(s, aid, _run, _finding):
    s.scalar(select(ClubMember).where(ClubMember.athlete_id == aid)).share_name = True


def _scope_changed(s, aid, _run, _finding):
    s.scalar(select(ClubMember).where(ClubMember.athlete_id == aid)).consent_scope = ["distance"]


@pytest.mark.parametrize("write", [_new_finding, _severity, _finding_deleted, _activity_deleted,
                                   _made_private, _renamed, _name_shown, _scope_changed])
def test_a_write_marks_its_athletes_rows_due_and_no_one_elses(runtime, write):
    club_id, aid, other, run, finding = _club(runtime)
    with runtime.db.session() as s:
        marks = s.scalar(select(ClubMember.rank_marks).where(ClubMember.athlete_id == aid))
        write(s, aid, run, finding)
    assert _is_due(runtime, aid)
    assert not _is_due(runtime, other)
    with runtime.db.session() as s:
        assert s.scalar(select(ClubMember.rank_marks)
                        .where(ClubMember.athlete_id == aid)) == marks + 1


def test_a_rewrite_that_changes_nothing_ranked_marks_nothing(runtime):
    """A re-analysis rewrites its findings' messages and numbers every time: no mark, or every
    analysis would make the next dashboard read recompute the runner."""
    _, aid, _, _, finding = _club(runtime)
    with runtime.db.session() as s:
        f = s.get(Finding, finding)
        f.message, f.value, f.evidence = "reworded", 1.9, {"runs": 4}
    assert not _is_due(runtime, aid)


def test_erasing_an_account_takes_its_member_off_the_dashboard(app, runtime):
    club_id, aid, other, _, _ = _club(runtime)
    erasure.delete_athlete(runtime, aid, app.extensions["kneeguard.providers"])
    with runtime.db.session() as s:
        rows, total = club_stats.dashboard_page(s, club_id, club_stats.today(), page=1)
    assert [r["athlete_id"] for r in rows] == [other] and total == 1


def test_a_mark_that_lands_while_a_recompute_runs_keeps_the_row_due(runtime, monkeypatch):
    """The compare-and-set on rank_marks: a finding committed (another connection) after the
    recompute read the findings, before it writes the keys, leaves the row due, so the next
    read sees it; the recompute's key, older than the mark, is not written."""
    club_id, aid, other, run, _ = _club(runtime)
    with runtime.db.session() as s:  # both rows due again
        s.execute(update(ClubMember).where(ClubMember.club_id == club_id)
                  .values(rank_due_on=club_ranking.RANK_DUE_NOW))
    read = club_ranking._visible_dates

    def read_then_a_finding_lands(s, athlete_ids, as_of):
        found = read(s, athlete_ids, as_of)
        with runtime.db.session() as other_connection:
            add_finding(other_connection, aid, run, rule="weekly_jump", severity="high",
                        sources=["upload"])
        return found

    monkeypatch.setattr(club_ranking, "_visible_dates", read_then_a_finding_lands)
    _refresh(runtime, club_id)
    assert _is_due(runtime, aid) and not _is_due(runtime, other)
    monkeypatch.undo()
    with runtime.db.session() as s:
        rows, _ = club_stats.dashboard_page(s, club_id, club_stats.today(), page=1)
    assert rows[0]["athlete_id"] == aid and rows[0]["risk"]["level"] == "high"
    assert not _is_due(runtime, aid)


def test_the_head_schema_has_every_trigger(runtime):
    """SQLite drops a table's triggers when a migration rebuilds the table: this is the guard."""
    with runtime.db.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            found = set(s.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
        else:
            found = set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    assert set(TRIGGERS) <= found
