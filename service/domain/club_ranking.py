"""The club dashboard's order, most at risk first, without reading the whole club per request.

Each club_members row carries its ranking key: risk level and number of recent findings it
shares (both negated, so the index ascends), the name the club sees (lower-cased), and
`rank_due_on`, the first day that key may be wrong. Database triggers
(migrations/rank_triggers.py) set `rank_due_on` to the epoch when a finding, an activity's
`private` flag, the athlete's name or the row's own consent changes, whoever wrote it. A request
first recomputes its club's rows that are due (marked, or a finding entering or leaving the
28-day window) here, in Python with the policy, then reads its page as a walk of the index
`ix_club_members_rank`: at 10,000 members the work is the rows that changed, not the club.
Consent needs no recompute at all: sharing is a filter on the row itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, Text, and_, bindparam, cast, or_, select, text, update
from sqlalchemy.orm import Session

from service.domain import policy
from service.domain.clubs import display_name
from service.models import Activity, Athlete, ClubMember, Finding
from workers.analysis.severity import rank, strongest

RISK_WINDOW_DAYS = 28
# A marked row: due before any day a request can ask about (the triggers write the same literal).
RANK_DUE_NOW = date(1970, 1, 1)


def sharing(club_id: str):
    """The members a club may see: joined, consented, not withdrawn (the partial indexes'
    predicate, written the same way so the planner can use them)."""
    return and_(ClubMember.club_id == club_id, ClubMember.withdrawn_at.is_(None),
                ClubMember.consented_at.is_not(None))


def recent_visible(columns, since: date, until: date | None):
    """Findings dated [since, until] (no upper bound with None) that are not about a private
    run. Sources are judged by the policy afterwards (`policy.visible`). Ranking and the rows a
    page shows share this filter, so a member's rank and the findings beside it agree."""
    q = (select(*columns).outerjoin(Activity, Activity.id == Finding.activity_id)
         .where(Finding.date >= since,
                or_(Finding.activity_id.is_(None), Activity.private.is_(False))))
    return q if until is None else q.where(Finding.date <= until)


def window_start(as_of: date) -> date:
    return as_of - timedelta(days=RISK_WINDOW_DAYS - 1)


# ---- keeping the keys ----------------------------------------------------------------------------


CHUNK = 500  # due members recomputed per findings read and per write


def refresh(s: Session, club_id: str, as_of: date) -> int:
    """Recompute the keys of the club's sharing members that are due on `as_of`; how many were
    due. A row marked again while this ran keeps its mark and is recomputed next time."""
    if not _due(s, club_id, as_of):
        return 0  # the usual case: one index probe, no lock
    if s.get_bind().dialect.name == "postgresql":
        # Two requests for one club recompute one after the other (the second then finds
        # nothing due): no work done twice, no two bulk updates locking rows in two orders.
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:club))"), {"club": club_id})
    due = sorted(_due(s, club_id, as_of), key=lambda r: r.id)
    for start in range(0, len(due), CHUNK):
        rows = due[start:start + CHUNK]
        dated = _visible_dates(s, [r.athlete_id for r in rows], as_of)
        _write(s, [_key(r, dated.get(r.athlete_id, []), as_of) for r in rows])
    return len(due)


def _due(s: Session, club_id: str, as_of: date) -> list[Any]:
    """The sharing members whose key is due, with what computing it needs (an index range
    scan of ix_club_members_rank_due)."""
    return list(s.execute(
        select(ClubMember.id, ClubMember.athlete_id, ClubMember.share_name,
               cast(ClubMember.consent_scope, Text).label("scope"), ClubMember.rank_marks,
               Athlete.display_name)
        .join(Athlete, Athlete.id == ClubMember.athlete_id)
        .where(sharing(club_id), ClubMember.rank_due_on <= as_of)))


def _visible_dates(s: Session, athlete_ids: list[str],
                   as_of: date) -> dict[str, list[tuple[date, str]]]:
    """{athlete id: [(date, severity)]} of these athletes' club-visible findings, from the
    window's first day on (later ones too: a finding dated ahead enters the window later). By
    athlete id, so each is an index range scan (athlete_id, date): work grows with the members
    due, not with the club."""
    columns = (Finding.athlete_id, Finding.date, Finding.severity, cast(Finding.sources, Text))
    q = recent_visible(columns, window_start(as_of), None).where(
        Finding.athlete_id.in_(athlete_ids))
    allowed: dict[str | None, bool] = {}
    out: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for aid, day, severity, sources in s.execute(q):
        if sources not in allowed:  # a club's findings share a handful of source lists
            allowed[sources] = policy.visible(json.loads(sources) if sources else [], "club")
        if allowed[sources]:
            out[aid].append((day, severity))
    return out


def _write(s: Session, keys: list[dict]) -> None:
    """Write the keys, each only if its row was not marked since it was read: a trigger that
    fired after the findings were read bumped rank_marks, so that key is skipped and the row
    stays due (never a key older than its mark)."""
    table = ClubMember.__table__
    assert isinstance(table, Table)
    if s.get_bind().dialect.name != "postgresql":  # in-process: a statement per row is cheap
        s.connection().execute(
            update(table).where(table.c.id == bindparam("row_id"),
                                table.c.rank_marks == bindparam("seen_marks"))
            .values(rank_minus_level=bindparam("minus_level"),
                    rank_minus_findings=bindparam("minus_found"),
                    rank_name=bindparam("name"), rank_due_on=bindparam("due")), keys)
        return
    # PostgreSQL: one statement per chunk, its keys as six arrays (unnest): a statement per
    # row cost 10,000 round trips when a whole club is due (right after the migration), and a
    # VALUES list 3,000 bind parameters for SQLAlchemy to compile each time (seconds).
    s.execute(BULK_WRITE, {f: [k[f] for k in keys] for f in keys[0]})


BULK_WRITE = text(
    "UPDATE club_members SET rank_minus_level = given.minus_level, "
    "rank_minus_findings = given.minus_found, rank_name = given.name, rank_due_on = given.due "
    "FROM unnest(CAST(:row_id AS varchar[]), CAST(:seen_marks AS integer[]), "
    "CAST(:minus_level AS smallint[]), CAST(:minus_found AS integer[]), "
    "CAST(:name AS varchar[]), CAST(:due AS date[])) "
    "AS given(row_id, seen_marks, minus_level, minus_found, name, due) "
    "WHERE club_members.id = given.row_id AND club_members.rank_marks = given.seen_marks")


def _key(row: Any, dated: list[tuple[date, str]], as_of: date) -> dict:
    """The row's key as of `as_of`, and the day it next changes without any write."""
    shares = "findings" in json.loads(row.scope or "[]")
    dated = dated if shares else []
    window = [severity for day, severity in dated if day <= as_of]
    level = rank(strongest(window)) + 1 if window else 0  # none 0 .. high 3, as risk_of
    # A finding in the window leaves it RISK_WINDOW_DAYS after its date; one dated ahead of
    # `as_of` (a run in a time zone ahead of UTC) enters it on its date.
    changes = [day + timedelta(days=RISK_WINDOW_DAYS) if day <= as_of else day
               for day, _ in dated]
    name = display_name(SimpleNamespace(athlete_id=row.athlete_id, display_name=row.display_name,
                                        share_name=bool(row.share_name)))
    return {"row_id": row.id, "seen_marks": row.rank_marks, "minus_level": -level,
            "minus_found": -len(window), "name": name.lower(), "due": min(changes, default=None)}


# ---- reading a page ------------------------------------------------------------------------------


# Most at risk first, then by name and id (equal names still page the same way every time).
ORDER = (ClubMember.rank_minus_level, ClubMember.rank_minus_findings, ClubMember.rank_name,
         ClubMember.athlete_id)


def ranked_query(club_id: str, *, offset: int = 0, limit: int | None = None):
    """Athlete ids of the sharing members in ranking order, from the ranking index alone: the
    members a page skips cost one index entry each."""
    q = select(ClubMember.athlete_id).where(sharing(club_id)).order_by(*ORDER).offset(offset)
    return q if limit is None else q.limit(limit)
