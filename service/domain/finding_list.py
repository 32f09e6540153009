"""The findings list of one runner (`GET /v1/athletes/<id>/findings`): for the runner, every
finding; for an integrator the runner shares `findings` with, what the source policy lets
integrators see (nothing derived from Strava, nothing about a private run), each with the
integrator's reference for the runner.

Withdrawn findings (a re-analysis no longer supports them; the row is gone) are listed from their
tombstones, marked `withdrawn: true`, so a reader that missed the `finding.withdrawn` webhook
still learns of it. Newest first, by (date, id); the cursor is the last item's (date, id).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from service.domain import integrators, policy
from service.domain.deliveries import finding_data
from service.errors import InvalidInput, NotFound
from service.models import Activity, Finding, WithdrawnFinding

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CHUNK = 200


@dataclass(frozen=True)
class Reader:
    athlete_id: str
    audience: str  # athlete | integrator
    ref: str | None = None


@dataclass(frozen=True)
class Query:
    since: date | None = None
    until: date | None = None
    rules: frozenset[str] = field(default_factory=frozenset)
    severities: frozenset[str] = field(default_factory=frozenset)
    withdrawn: str = "include"  # include | exclude | only
    limit: int = DEFAULT_LIMIT
    after: tuple[date, str] | None = None


def reader_for(s: Session, p, athlete_id: str) -> Reader:
    """The runner themself, or an integrator the runner shares `findings` with; anyone else gets
    the 404 of a missing athlete (ids cannot be probed)."""
    if p.kind == "athlete" and p.athlete_id == athlete_id:
        return Reader(athlete_id, "athlete")
    if p.kind == "integrator":
        g = integrators.grant(s, athlete_id, integrators.of_key(s, p.key_id) or "")
        if g is not None and "findings" in (g.scopes or []):
            return Reader(athlete_id, "integrator", g.ref)
    raise NotFound("Athlete not found.")


# `<date ordinal>~<id>`: readable, and every string of this shape is a position (an ordinal past
# the calendar's ends is clamped), so a cursor is refused only when it is not of this shape.
CURSOR_PATTERN = r"^[0-9]{1,7}~[A-Za-z0-9_]{0,40}$"


def encode_cursor(day: date, ident: str) -> str:
    return f"{day.toordinal()}~{ident}"


def decode_cursor(raw: str) -> tuple[date, str]:
    if not re.fullmatch(CURSOR_PATTERN, raw):
        raise InvalidInput("`cursor` is the `next_cursor` of a previous page.",
                           code="invalid_cursor")
    ordinal, ident = raw.split("~", 1)
    return date.fromordinal(min(max(int(ordinal), 1), date.max.toordinal())), ident


def page(s: Session, reader: Reader, q: Query) -> dict:
    items = list(islice((i for i in _merged(s, reader, q) if _visible(s, reader, i)), q.limit + 1))
    more = len(items) > q.limit
    items = items[:q.limit]
    out = {"athlete_id": reader.athlete_id,
           "findings": [_view(i, reader) for i in items],
           "next_cursor": encode_cursor(items[-1].date, items[-1].id) if more else None}
    if reader.audience == "integrator":
        out["integrator_ref"] = reader.ref
    return out


def _merged(s: Session, reader: Reader, q: Query) -> Iterator:
    streams = []
    if q.withdrawn != "only":
        streams.append(_rows(s, Finding, reader, q))
    if q.withdrawn != "exclude":
        streams.append(_rows(s, WithdrawnFinding, reader, q))
    return heapq.merge(*streams, key=lambda r: (r.date, r.id), reverse=True)


def _rows(s: Session, model, reader: Reader, q: Query) -> Iterator:
    """One table's matching rows, newest first, fetched in chunks (keyset paging)."""
    after = q.after
    while True:
        stmt = select(model).where(model.athlete_id == reader.athlete_id, *_filters(model, q))
        if after is not None:
            stmt = stmt.where(or_(model.date < after[0],
                                  and_(model.date == after[0], model.id < after[1])))
        rows = s.scalars(stmt.order_by(model.date.desc(), model.id.desc()).limit(CHUNK)).all()
        yield from rows
        if len(rows) < CHUNK:
            return
        after = (rows[-1].date, rows[-1].id)


def _filters(model, q: Query) -> list:
    out = []
    if q.since:
        out.append(model.date >= q.since)
    if q.until:
        out.append(model.date <= q.until)
    if q.rules:
        out.append(model.rule.in_(sorted(q.rules)))
    if q.severities:
        out.append(model.severity.in_(sorted(q.severities)))
    return out


def _visible(s: Session, reader: Reader, row) -> bool:
    if reader.audience == "athlete":
        return True
    if not policy.visible(row.sources or ["unknown"], "integrator"):
        return False
    return row.activity_id is None or not s.scalar(
        select(Activity.private).where(Activity.id == row.activity_id))


def _view(row, reader: Reader) -> dict:
    if isinstance(row, Finding):
        out = dict(finding_data(row), withdrawn=False, withdrawn_at=None)
    else:
        out = {"id": row.id, "athlete_id": row.athlete_id, "activity_id": row.activity_id,
               "rule": row.rule, "severity": row.severity, "activity": row.activity_id,
               "date": row.date.isoformat(), "value": None, "threshold": None, "message": None,
               "evidence": None, "sources": list(row.sources or []), "withdrawn": True,
               "withdrawn_at": row.withdrawn_at.isoformat().replace("+00:00", "Z")}
    if reader.audience == "integrator":
        out["integrator_ref"] = reader.ref
    return out


def tombstone(s: Session, f: Finding, reason: str = "no_longer_holds") -> None:
    """Called where a re-analysis deletes a finding that no longer holds."""
    s.merge(WithdrawnFinding(id=f.id, athlete_id=f.athlete_id, activity_id=f.activity_id,
                             rule=f.rule, severity=f.severity, date=f.date,
                             sources=list(f.sources or []), reason=reason))


def drop_tombstones(s: Session, athlete_id: str, source: str, dates=None) -> None:
    """With a provider's data purged, its day-level tombstones go too (those about one of its
    activities go with the activity: foreign key)."""
    rows = s.scalars(select(WithdrawnFinding).where(WithdrawnFinding.athlete_id == athlete_id,
                                                    WithdrawnFinding.activity_id.is_(None))).all()
    for row in rows:
        if source in (row.sources or []) and (dates is None or row.date in dates):
            s.delete(row)
