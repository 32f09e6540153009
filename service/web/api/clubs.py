"""Clubs: create, invites and consent, members and their club-visible data, roles.

Every view resolves the club through `clubs.club_for(principal)`: a club that is not the caller's
answers 404 like a missing one. Payloads are allowlists: no emails, tokens or GPS.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from service.domain import club_stats, clubs
from service.domain.member_series import member_series
from service.errors import Forbidden, InvalidInput, NotFound
from service.models import Club, ClubInvite
from service.web.api.endpoints import parse
from service.web.api.params import int_arg
from service.web.auth import principal, require_runner

bp = Blueprint("clubs", __name__, url_prefix="/v1")


class CreateClub(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class CreateInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_hours: int = Field(default=168, ge=1, le=720)


class AcceptInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: list[Literal["findings", "distance", "descent", "routes", "load"]] = Field(
        min_length=1, max_length=4,
        description="What the runner agrees to share with the club.")


class SetRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["member", "admin"]


def _rt():
    return current_app.extensions["kneeguard"]


def invite_url(token: str) -> str:
    return f"{_rt().settings.public_url}/join/{token}"


@bp.post("/clubs")
def create_club():
    p = require_runner()
    body = parse(CreateClub)
    with _rt().db.session() as s:
        club = clubs.create_club(s, body.name, admin_athlete_id=p.athlete_id)
        return clubs.club_view(club, role="admin"), 201


@bp.get("/clubs")
def list_clubs():
    with _rt().db.session() as s:
        return {"clubs": clubs.clubs_of(s, principal())}


@bp.get("/clubs/<club_id>")
def get_club(club_id: str):
    p = principal()
    with _rt().db.session() as s:
        club = clubs.club_for(s, p, club_id, need="member")
        member = clubs.membership(s, club_id, p.athlete_id) if p.athlete_id else None
        view = clubs.club_view(club, role=member.role if member else None, member=member)
        view["members_sharing"] = club_stats.sharing_count(s, club_id)
        view["policy"] = club_stats.CLUB_POLICY_NOTE
        return view


MEMBERS_PAGE = 100  # members per page of GET /clubs/<id>/members unless `limit` says otherwise
MEMBERS_PAGE_MAX = 500


@bp.get("/clubs/<club_id>/members")
def list_members(club_id: str):
    """Consenting members in athlete id order, a page at a time: `next_cursor` fetches the next
    page (null on the last). Every member appears exactly once across the pages, also when
    others join meanwhile; each row carries its risk, so a client ranks as it likes."""
    weeks = int_arg("weeks", 12, 1, 104)
    limit = int_arg("limit", MEMBERS_PAGE, 1, MEMBERS_PAGE_MAX)
    after = _cursor(request.args.get("cursor"))
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="read")
        rows, last = club_stats.members_page(s, club_id, _as_of(), weeks, after=after,
                                             limit=limit)
        return {"club_id": club_id, "as_of": _as_of().isoformat(),
                "policy": club_stats.CLUB_POLICY_NOTE, "members": rows, "limit": limit,
                "next_cursor": _encode_cursor(last) if last else None}


# A keyset cursor: the last athlete id of the page. Any id-shaped value is a valid position (the
# page after it), so every string the description allows is answered, never refused.
MEMBER_CURSOR_PATTERN = r"^a~[A-Za-z0-9_]{1,60}$"


def _encode_cursor(athlete_id: str) -> str:
    return f"a~{athlete_id}"


def _cursor(raw: str | None) -> str | None:
    """The athlete id a cursor stands for."""
    if raw is None:
        return None
    if not re.fullmatch(MEMBER_CURSOR_PATTERN, raw):
        raise InvalidInput("`cursor` is not a cursor from a previous page.",
                           code="invalid_cursor")
    return raw[2:]


@bp.get("/clubs/<club_id>/members/<athlete_id>")
def get_member(club_id: str, athlete_id: str):
    as_of = _as_of()
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="read")
        m, a = _sharing(s, club_id, athlete_id)
        scope = list(m.consent_scope or [])
        found = club_stats.visible_findings(s, as_of - timedelta(days=89), as_of,
                                            athlete_id=athlete_id) if "findings" in scope else {}
        fs = found.get(athlete_id, [])
        return {"athlete_id": a.id, "name": clubs.display_name(a, m.share_name), "role": m.role,
                "sharing": scope, "consented_at": m.consented_at.isoformat(),
                "risk": club_stats.risk([f for f in fs if f["date"] >= _recent(as_of)]),
                "findings": fs, "policy": club_stats.CLUB_POLICY_NOTE}


@bp.get("/clubs/<club_id>/members/<athlete_id>/series")
def get_series(club_id: str, athlete_id: str):
    weeks = int_arg("weeks", 26, 1, 104)
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="read")
        m, _ = _sharing(s, club_id, athlete_id)
        out = member_series(s, athlete_id, list(m.consent_scope or []), _as_of(), weeks)
        return {"athlete_id": athlete_id, "as_of": _as_of().isoformat(), **out,
                "policy": club_stats.CLUB_POLICY_NOTE}


@bp.put("/clubs/<club_id>/members/<athlete_id>/role")
def set_role(club_id: str, athlete_id: str):
    body = parse(SetRole)
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        m = clubs.set_role(s, club_id, athlete_id, body.role)
        return {"athlete_id": m.athlete_id, "role": m.role}


@bp.delete("/clubs/<club_id>/members/<athlete_id>")
def remove_member(club_id: str, athlete_id: str):
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        clubs.remove_member(s, club_id, athlete_id)
    return "", 204


@bp.post("/clubs/<club_id>/membership/withdraw")
def withdraw(club_id: str):
    """The runner stops sharing and leaves the club, effective immediately."""
    p = principal()
    if p.kind != "athlete" or p.athlete_id is None:
        raise NotFound("Club not found.")
    with _rt().db.session() as s:
        m = clubs.withdraw(s, club_id, p.athlete_id)
        return {"club_id": club_id, "withdrawn_at": m.withdrawn_at and m.withdrawn_at.isoformat()}


@bp.post("/clubs/<club_id>/invites")
def create_invite(club_id: str):
    body = parse(CreateInvite)
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        invite, token = clubs.create_invite(s, club_id, timedelta(hours=body.ttl_hours))
        return dict(clubs.invite_view(invite), token=token, url=invite_url(token)), 201


@bp.get("/clubs/<club_id>/invites")
def list_invites(club_id: str):
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        rows = s.scalars(select(ClubInvite).where(ClubInvite.club_id == club_id)
                         .order_by(ClubInvite.created_at.desc())).all()
        return {"invites": [clubs.invite_view(i) for i in rows]}


@bp.delete("/clubs/<club_id>/invites/<invite_id>")
def revoke_invite(club_id: str, invite_id: str):
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        invite = s.get(ClubInvite, invite_id)
        if invite is None or invite.club_id != club_id:
            raise NotFound("Invite not found.")
        s.delete(invite)
    return "", 204


@bp.get("/invites/<token>")
def get_invite(token: str):
    """What joining means: the club, what can be shared, the policy. The token is the secret."""
    with _rt().db.session() as s:
        invite = clubs.invite_for_token(s, token)
        club = s.get(Club, invite.club_id)
        return {"club": {"id": club.id, "name": club.name}, "expires_at":
                invite.expires_at.isoformat(), "scopes": clubs.CONSENT_SCOPES,
                "policy": club_stats.CLUB_POLICY_NOTE}


@bp.post("/invites/<token>/accept")
def accept_invite(token: str):
    p = principal()
    if p.kind != "athlete" or p.athlete_id is None:
        raise Forbidden("Only a runner can join a club.")
    body = parse(AcceptInvite)
    with _rt().db.session() as s:
        invite = clubs.invite_for_token(s, token)
        m = clubs.accept_invite(s, invite, p.athlete_id, list(body.scope))
        return {"club_id": m.club_id, "athlete_id": m.athlete_id, "role": m.role,
                "sharing": list(m.consent_scope),
                "consented_at": m.consented_at and m.consented_at.isoformat()}


def _sharing(s, club_id: str, athlete_id: str):
    found = club_stats.sharing_member(s, club_id, athlete_id)
    if found is None:
        raise NotFound("Member not found.")
    return found


def _as_of() -> date:
    return club_stats.today()


def _recent(as_of: date) -> str:
    return (as_of - timedelta(days=club_stats.RISK_WINDOW_DAYS - 1)).isoformat()
