"""The triggers that mark a club member's ranking key due (docs/decisions.md, issue 28).

They only *mark*: `rank_due_on` goes to the epoch (due before any today) and `rank_marks` up by
one on every club_members row of the athlete whose inputs changed. The key itself is computed in
Python with the policy (service/domain/club_ranking.py) by the next request that reads the club.
Marking in the database, not in the code that writes, is the point: every write path (the
analysis upsert, a retention sweep, a cascade from an activity or account deletion, a provider's
privacy change, a rename on /me) is covered, including ones written later.

SQLite drops a table's triggers when a batch migration rebuilds it (copy and move): a migration
that rebuilds findings, activities, athletes or club_members calls `create_triggers` again, and
`tests/clubs/test_rank_triggers.py` checks the head schema has every one. A migration that
changes what they do writes its own copy of this file's SQL, so this revision keeps meaning what
it meant.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

MARK = ("UPDATE club_members SET rank_due_on = '1970-01-01', rank_marks = rank_marks + 1 "
        "WHERE athlete_id = {athlete}")
# What a finding's club ranking reads (the join to its activity's `private` included).
FINDING_INPUTS = ("athlete_id", "activity_id", "date", "severity", "sources")
TRIGGERS = {  # name: table
    "findings_rank_insert": "findings", "findings_rank_delete": "findings",
    "findings_rank_update": "findings", "activities_rank_private": "activities",
    "athletes_rank_name": "athletes", "club_members_rank_consent": "club_members",
}


def _changed(columns: tuple[str, ...], op: str) -> str:
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in columns)


def _sqlite() -> list[str]:
    finding_changed = _changed(FINDING_INPUTS, "IS NOT")
    return [
        f"CREATE TRIGGER findings_rank_insert AFTER INSERT ON findings BEGIN "
        f"{MARK.format(athlete='NEW.athlete_id')}; END",
        f"CREATE TRIGGER findings_rank_delete AFTER DELETE ON findings BEGIN "
        f"{MARK.format(athlete='OLD.athlete_id')}; END",
        f"CREATE TRIGGER findings_rank_update AFTER UPDATE ON findings WHEN {finding_changed} "
        f"BEGIN {MARK.format(athlete='OLD.athlete_id')}; "
        f"{MARK.format(athlete='NEW.athlete_id')} AND NEW.athlete_id IS NOT OLD.athlete_id; END",
        f"CREATE TRIGGER activities_rank_private AFTER UPDATE OF private ON activities "
        f"WHEN OLD.private IS NOT NEW.private BEGIN {MARK.format(athlete='NEW.athlete_id')}; END",
        f"CREATE TRIGGER athletes_rank_name AFTER UPDATE OF display_name ON athletes "
        f"WHEN OLD.display_name IS NOT NEW.display_name BEGIN {MARK.format(athlete='NEW.id')}; "
        f"END",
        # The row's own inputs: what it shares (findings or not) and whether its name shows.
        # (SQLite fires UPDATE OF only for columns a statement sets: the mark does not re-fire.)
        "CREATE TRIGGER club_members_rank_consent AFTER UPDATE OF consent_scope, share_name "
        "ON club_members WHEN OLD.consent_scope IS NOT NEW.consent_scope "
        "OR OLD.share_name IS NOT NEW.share_name BEGIN UPDATE club_members SET "
        "rank_due_on = '1970-01-01', rank_marks = rank_marks + 1 WHERE id = NEW.id; END",
    ]


def _postgresql() -> list[str]:
    finding_changed = _changed(FINDING_INPUTS, "IS DISTINCT FROM")
    function = ("CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN {body} RETURN NULL; END $$")
    return [
        function.format(name="findings_rank_mark", body=(
            f"IF TG_OP <> 'INSERT' THEN {MARK.format(athlete='OLD.athlete_id')}; END IF; "
            f"IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND "
            f"NEW.athlete_id IS DISTINCT FROM OLD.athlete_id) THEN "
            f"{MARK.format(athlete='NEW.athlete_id')}; END IF;")),
        function.format(name="activities_rank_mark",
                        body=f"{MARK.format(athlete='NEW.athlete_id')};"),
        function.format(name="athletes_rank_mark", body=f"{MARK.format(athlete='NEW.id')};"),
        # A BEFORE trigger changes the row being written instead of updating it a second time.
        "CREATE OR REPLACE FUNCTION club_members_rank_mark() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN NEW.rank_due_on := DATE '1970-01-01'; "
        "NEW.rank_marks := OLD.rank_marks + 1; RETURN NEW; END $$",
        "CREATE TRIGGER findings_rank_insert AFTER INSERT ON findings FOR EACH ROW "
        "EXECUTE FUNCTION findings_rank_mark()",
        "CREATE TRIGGER findings_rank_delete AFTER DELETE ON findings FOR EACH ROW "
        "EXECUTE FUNCTION findings_rank_mark()",
        f"CREATE TRIGGER findings_rank_update AFTER UPDATE ON findings FOR EACH ROW "
        f"WHEN ({finding_changed}) EXECUTE FUNCTION findings_rank_mark()",
        "CREATE TRIGGER activities_rank_private AFTER UPDATE OF private ON activities "
        "FOR EACH ROW WHEN (OLD.private IS DISTINCT FROM NEW.private) "
        "EXECUTE FUNCTION activities_rank_mark()",
        "CREATE TRIGGER athletes_rank_name AFTER UPDATE OF display_name ON athletes "
        "FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name) "
        "EXECUTE FUNCTION athletes_rank_mark()",
        "CREATE TRIGGER club_members_rank_consent BEFORE UPDATE OF consent_scope, share_name "
        "ON club_members FOR EACH ROW WHEN (OLD.consent_scope IS DISTINCT FROM "
        "NEW.consent_scope OR OLD.share_name IS DISTINCT FROM NEW.share_name) "
        "EXECUTE FUNCTION club_members_rank_mark()",
    ]


FUNCTIONS = ("findings_rank_mark", "activities_rank_mark", "athletes_rank_mark",
             "club_members_rank_mark")


def create_triggers(conn: Connection) -> None:
    drop_triggers(conn)  # idempotent: a rebuilt SQLite table may have kept none, or some
    statements = _postgresql() if conn.dialect.name == "postgresql" else _sqlite()
    for statement in statements:
        conn.execute(text(statement))


def drop_triggers(conn: Connection) -> None:
    postgresql = conn.dialect.name == "postgresql"
    for name, table in TRIGGERS.items():
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql
                                                                   else "")))
    if postgresql:
        for name in FUNCTIONS:
            conn.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
