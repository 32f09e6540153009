"""What a club sees of its consenting members: risk, latest finding, weekly series.

Only what the policy lets clubs see (service/domain/policy.py): activities from club-visible sources that
are not private, findings whose every source is club-visible — by default nothing derived from
Strava data. Each member's consent scope narrows it further.

The dashboard must stay fast for a club of 1,000 members with years of history, so weekly sums are
aggregated in SQL (one GROUP BY over the index on (athlete_id, start_time)); only a member's detail
page loads per-run metrics.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import Integer, Text, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from service.domain import club_ranking, policy
from service.domain.club_ranking import RISK_WINDOW_DAYS, recent_visible, sharing, window_start
from service.domain.clubs import display_name
from service.models import Activity, Athlete, ClubMember, Finding
from workers.analysis.severity import rank, strongest

__all__ = ["RISK_WINDOW_DAYS"]  # the risk window is the ranking's; pages name it from here
EPOCH = date(1970, 1, 1)
CLUB_POLICY_NOTE = ("Clubs see only what members consented to share, computed from club-visible "
                    "sources: by default nothing derived from Strava data, and no private "
                    "activities, emails, tokens or GPS tracks.")


def club_sources() -> list[str]:
    return [src for src, audiences in policy.VISIBLE_TO.items() if "club" in audiences]


class Member(NamedTuple):
    athlete_id: str
    display_name: str | None
    share_name: bool
    role: str
    consent_scope: list[str]
    consented_at: datetime | None


def _member_columns():
    return (select(ClubMember.athlete_id, Athlete.display_name, ClubMember.share_name,
                   ClubMember.role, cast(ClubMember.consent_scope, Text), ClubMember.consented_at)
            .join(Athlete, Athlete.id == ClubMember.athlete_id))


def _members(s: Session, q) -> list[Member]:
    scopes: dict = {}
    return [Member(aid, name, bool(share), role, _decoded(scopes, scope), at)
            for aid, name, share, role, scope, at in s.execute(q)]


def sharing_members(s: Session, club_id: str, *, after: str | None = None,
                    limit: int | None = None) -> list[Member]:
    """Columns, not ORM objects, because a club may have thousands of members. With `limit`: at
    most that many, in athlete id order, after the id `after` (keyset paging: the unique index on
    (club_id, athlete_id) walks straight to the page; a member who joins meanwhile lands after
    the cursor or before it, never twice)."""
    q = _member_columns().where(sharing(club_id))
    if limit is not None:
        q = q.order_by(ClubMember.athlete_id).limit(limit)
    if after is not None:
        q = q.where(ClubMember.athlete_id > after)
    return _members(s, q)


def ranked_members(s: Session, club_id: str, *, offset: int = 0,
                   limit: int | None = None) -> list[Member]:
    """Members most at risk first (club_ranking's order), in one statement: the page is picked
    from the ranking index alone (a subquery of at most `limit` rows, run first), then joined
    to its rows and names by key; no scan of the club's rows or of every athlete."""
    page = club_ranking.ranked_query(club_id, offset=offset, limit=limit).subquery()
    q = (_member_columns().join(page, page.c.athlete_id == ClubMember.athlete_id)
         .where(ClubMember.club_id == club_id).order_by(*club_ranking.ORDER))
    return _members(s, q)


def sharing_count(s: Session, club_id: str) -> int:
    """How many members share: counted from the index of sharing members alone (no names, no
    scopes, no athlete rows)."""
    return s.scalar(select(func.count()).select_from(ClubMember).where(sharing(club_id))) or 0


def _decoded(cache: dict, raw: str | None) -> list:
    """A JSON list decoded once per distinct text: a club's members share a handful of consent
    scopes and its findings a handful of source lists (a thousand decodes cost more than the
    query that read them)."""
    if raw not in cache:
        cache[raw] = json.loads(raw) if raw else []
    return cache[raw]


def sharing_member(s: Session, club_id: str, athlete_id: str) -> tuple[ClubMember, Athlete] | None:
    row = s.execute(select(ClubMember, Athlete).join(Athlete, Athlete.id == ClubMember.athlete_id)
                    .where(sharing(club_id), ClubMember.athlete_id == athlete_id)).first()
    return (row[0], row[1]) if row else None


# ---- weekly sums in SQL --------------------------------------------------------------------------


def _week_index(dialect: str):
    """Monday-based week number since the epoch week (1970-01-01 was a Thursday)."""
    if dialect == "postgresql":
        days = func.extract("epoch", Activity.start_time) / 86400.0
        return cast(func.floor((days + 3) / 7), Integer)
    days = func.julianday(Activity.start_time) - 2440587.5
    return cast((days + 3) / 7, Integer)  # positive, so truncation is floor


def _loss_expr():
    """Elevation loss of terrain runs (indoor and manual runs count for distance only, DESIGN §1).

    Read from the plain `loss_m` column: extracting it from every run's metrics JSON cost most of
    the dashboard's time (and grows with the route keys stored there)."""
    return case((or_(Activity.indoor, Activity.manual), 0.0),
                else_=func.coalesce(Activity.loss_m, 0.0))


def week_start(index: int) -> date:
    return EPOCH + timedelta(days=index * 7 - 3)


def week_of(day: date) -> int:
    return ((day - EPOCH).days + 3) // 7


def visible_runs():
    return and_(Activity.sport == "running", Activity.private.is_(False),
                Activity.source.in_(club_sources()))


def own_runs():
    """Every run of the runner, whatever its source: what the runner's own page counts."""
    return Activity.sport == "running"


def weekly_sums(s: Session, as_of: date, weeks: int, *, club_id: str | None = None,
                athlete_id: str | None = None, runs=None,
                athlete_ids: list[str] | None = None) -> dict[str, list[dict]]:
    """{athlete_id: [{"start", "distance_m", "loss_m", "runs"}] × weeks}, oldest first, with
    zero weeks kept. `runs`: which activities count (default: what clubs may see)."""
    last = week_of(as_of)
    first = last - weeks + 1
    since = datetime.combine(week_start(first), time(0), tzinfo=UTC)
    until = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    week = _week_index(s.get_bind().dialect.name).label("week")
    loss = _loss_expr()
    q = (select(Activity.athlete_id, week, func.sum(Activity.distance_m), func.sum(loss),
                func.count())
         .where(visible_runs() if runs is None else runs, Activity.start_time >= since,
                Activity.start_time < until)
         .group_by(Activity.athlete_id, week))
    if club_id is not None:
        # IN (members) rather than a join: the planner then walks the (athlete_id, start_time)
        # index once per member instead of scanning every activity in the table.
        members = select(ClubMember.athlete_id).where(sharing(club_id))
        q = q.where(Activity.athlete_id.in_(members))
    if athlete_id is not None:
        q = q.where(Activity.athlete_id == athlete_id)
    if athlete_ids is not None:  # one page of a dashboard
        q = q.where(Activity.athlete_id.in_(athlete_ids))
    found: dict[str, dict[int, tuple]] = defaultdict(dict)
    for aid, w, dist, lo, n in s.execute(q):
        found[aid][int(w)] = (float(dist or 0), float(lo or 0), int(n))
    # Week labels once, not once per member: this loop builds members × weeks rows.
    starts = [(i, week_start(i).isoformat()) for i in range(first, last + 1)]
    zero = (0.0, 0.0, 0)
    return {aid: [_row(start, by_week.get(i, zero)) for i, start in starts]
            for aid, by_week in found.items()}


def _row(start: str, sums: tuple) -> dict:
    return {"start": start, "distance_m": round(sums[0], 1), "loss_m": round(sums[1], 1),
            "runs": sums[2]}


def empty_weeks(as_of: date, weeks: int) -> list[dict]:
    last = week_of(as_of)
    return [_week_row(i, None) for i in range(last - weeks + 1, last + 1)]


def _week_row(index: int, sums: tuple | None) -> dict:
    return _row(week_start(index).isoformat(), sums or (0.0, 0.0, 0))


def shared_weeks(rows: list[dict], scope: list[str]) -> list[dict]:
    """Drop the series a member did not consent to share (None, not zero: unknown ≠ nothing)."""
    return [{"start": r["start"], "runs": r["runs"] if "distance" in scope else None,
             "distance_m": r["distance_m"] if "distance" in scope else None,
             "loss_m": r["loss_m"] if "descent" in scope else None} for r in rows]


# ---- findings ------------------------------------------------------------------------------------


FINDING_COLUMNS = (Finding.id, Finding.athlete_id, Finding.rule, Finding.severity, Finding.date,
                   Finding.value, Finding.threshold, Finding.message, Finding.activity_id,
                   Finding.sources)


def visible_findings(s: Session, since: date, until: date, *, club_id: str | None = None,
                     athlete_id: str | None = None,
                     athlete_ids: list[str] | None = None) -> dict[str, list[dict]]:
    """Club-visible findings per athlete, newest first (columns only: evidence is never read)."""
    q = recent_visible(FINDING_COLUMNS, since, until).order_by(Finding.date.desc(),
                                                                Finding.updated_at.desc())
    if club_id is not None:
        q = q.join(ClubMember, and_(ClubMember.athlete_id == Finding.athlete_id, sharing(club_id)))
    if athlete_id is not None:
        q = q.where(Finding.athlete_id == athlete_id)
    if athlete_ids is not None:  # one page of a dashboard
        q = q.where(Finding.athlete_id.in_(athlete_ids))
    out: dict[str, list[dict]] = defaultdict(list)
    for row in s.execute(q):
        if policy.visible(row.sources or [], "club"):
            out[row.athlete_id].append(finding_view(row))
    return out


def finding_view(f) -> dict:
    # An allowlist: evidence may name other activities, so it is not part of the club view.
    return {"id": f.id, "rule": f.rule, "severity": f.severity, "date": f.date.isoformat(),
            "value": f.value, "threshold": f.threshold, "message": f.message,
            "activity_id": f.activity_id, "sources": list(f.sources or [])}


def risk(findings: list[dict]) -> dict:
    return risk_of([f["severity"] for f in findings])


def risk_of(severities: list[str]) -> dict:
    level = strongest(severities) or "none"  # the one order: severity.py
    return {"level": level, "score": rank(level) + 1, "findings": len(severities)}  # none 0 .. high 3


# ---- the dashboard -------------------------------------------------------------------------------


def dashboard(s: Session, club_id: str, as_of: date, weeks: int = 12, *,
              page: int | None = None, per_page: int = 50) -> list[dict]:
    """One row per consenting member, most at risk first. With `page` (1-based), only that page's
    rows are built (see dashboard_page)."""
    return dashboard_page(s, club_id, as_of, weeks, page=page, per_page=per_page)[0]


def dashboard_page(s: Session, club_id: str, as_of: date, weeks: int = 12, *,
                   page: int | None = None, per_page: int = 50) -> tuple[list[dict], int]:
    """(rows of this page, number of members), most at risk first. The order comes from the
    ranking keys on the members' rows, brought up to date first in this same transaction
    (club_ranking.refresh); findings and weekly sums are then read for the page's members only."""
    club_ranking.refresh(s, club_id, as_of)
    if page is None:
        members = ranked_members(s, club_id)
    else:
        members = ranked_members(s, club_id, offset=(page - 1) * per_page, limit=per_page)
    rows = _rows(s, as_of, weeks, members)
    total = len(members) if page is None else sharing_count(s, club_id)
    return rows, total


def members_page(s: Session, club_id: str, as_of: date, weeks: int, *, after: str | None,
                 limit: int) -> tuple[list[dict], str | None]:
    """(rows of up to `limit` members after the athlete id `after`, in id order; the cursor for
    the next page or None). Rows as the dashboard's; findings and weekly sums are read for this
    page's members only."""
    members = sharing_members(s, club_id, after=after, limit=limit + 1)
    more = len(members) > limit
    members = members[:limit]
    rows = _rows(s, as_of, weeks, members)
    return rows, (members[-1].athlete_id if more else None)


def _rows(s: Session, as_of: date, weeks: int, members: list[Member]) -> list[dict]:
    ids = [m.athlete_id for m in members]
    found = visible_findings(s, window_start(as_of), as_of, athlete_ids=ids)
    sums = weekly_sums(s, as_of, weeks, athlete_ids=ids)
    empty = empty_weeks(as_of, weeks)
    rows = []
    for m in members:
        fs = found.get(m.athlete_id, []) if "findings" in m.consent_scope else []
        rows.append(_dashboard_row(m, fs, risk(fs), display_name(m),
                                   sums.get(m.athlete_id, empty)))
    return rows


def _dashboard_row(m: Member, fs: list[dict], level: dict, name: str,
                   weeks: list[dict]) -> dict:
    scope = list(m.consent_scope)
    recent_runs = sum(w["runs"] for w in weeks[-4:])
    return {
        "athlete_id": m.athlete_id, "name": name, "role": m.role, "sharing": scope,
        "consented_at": m.consented_at.isoformat() if m.consented_at else None,
        "risk": level, "latest_finding": most_severe(fs),
        "recent": ("not shared" if "findings" not in scope else
                   "no runs in the last 4 weeks" if recent_runs == 0 else
                   "nothing found" if not fs else "findings"),
        "weeks": shared_weeks(weeks, scope),
    }


def most_severe(findings: list[dict]) -> dict | None:
    """The most severe recent finding (the newest among equals): what a coach should read first."""
    if not findings:
        return None
    return max(findings, key=lambda f: (rank(f["severity"], 0), f["date"]))


def today() -> date:
    return datetime.now(UTC).date()
