"""Clubs: creation, API keys, invites, consent, roles — and who may see which club.

No Flask here: views pass the caller's `Principal`, and every lookup is scoped by it (the tenant
comes from the principal, never from the path). A club id that is not the caller's answers 404,
exactly like a missing one, so ids cannot be probed.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.accounts import hash_token
from service.domain.principal import KEY_PREFIX, Principal
from service.domain.signup import placeholder_name
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.models import ApiKey, Club, ClubInvite, ClubMember, utcnow

# What a member may share with a club; the consent page lists exactly these.
CONSENT_SCOPES: dict[str, str] = {
    "findings": "your warnings (rule, severity, date, the numbers behind them)",
    "distance": "weekly distance and your longest runs",
    "descent": "weekly elevation loss (descent)",
    "routes": "how often you repeat the same route segments",
    "load": "your weekly knee load (knee-km) and your tolerance",
}
ROLES = ("member", "admin")
KEY_SCOPES = ("read", "admin")
INVITE_TTL = timedelta(days=7)
MAX_INVITE_TTL = timedelta(days=30)


# ---- clubs and keys ------------------------------------------------------------------------------


def create_club(s: Session, name: str, admin_athlete_id: str | None = None) -> Club:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("A club name has 1 to 200 characters.")
    club = Club(name=name)
    s.add(club)
    s.flush()
    if admin_athlete_id:
        # The founder administers the club but shares nothing until they consent like anyone else.
        s.add(ClubMember(club_id=club.id, athlete_id=admin_athlete_id, role="admin",
                         consent_scope=[]))
        s.flush()
    return club


def issue_key(s: Session, kind: str, name: str | None, scopes: list[str],
              club_id: str | None = None) -> tuple[ApiKey, str]:
    """A new key, returned once in clear: `kgk_<prefix>_<secret>`; only its sha256 is stored."""
    if kind not in ("club", "integrator") or (kind == "club") != (club_id is not None):
        raise InvalidInput("A club key needs a club; an integrator key has none.")
    unknown = set(scopes) - set(KEY_SCOPES)
    if not scopes or unknown:
        raise InvalidInput("Scopes are `read` and/or `admin`.",
                           details={"unknown": sorted(unknown)})
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(kind=kind, club_id=club_id, name=(name or "")[:200] or None, prefix=prefix,
                 key_hash=hash_token(key), scopes=sorted(set(scopes)))
    s.add(row)
    s.flush()
    return row, key


def key_view(k: ApiKey) -> dict:
    return {"id": k.id, "kind": k.kind, "club_id": k.club_id, "name": k.name,
            "prefix": f"{KEY_PREFIX}{k.prefix}", "scopes": list(k.scopes or []),
            "created_at": _iso(k.created_at), "last_used_at": _iso(k.last_used_at),
            "revoked_at": _iso(k.revoked_at)}


def revoke_key(s: Session, key_id: str, club_id: str | None = None) -> ApiKey:
    q = select(ApiKey).where(ApiKey.id == key_id)
    if club_id is not None:
        q = q.where(ApiKey.club_id == club_id)
    key = s.scalar(q)
    if key is None:
        raise NotFound("API key not found.")
    key.revoked_at = key.revoked_at or utcnow()
    return key


# ---- access --------------------------------------------------------------------------------------


def membership(s: Session, club_id: str, athlete_id: str) -> ClubMember | None:
    """The athlete's current (not withdrawn) membership."""
    return s.scalar(select(ClubMember).where(
        ClubMember.club_id == club_id, ClubMember.athlete_id == athlete_id,
        ClubMember.withdrawn_at.is_(None)))


def club_for(s: Session, p: Principal, club_id: str, need: str = "read") -> Club:
    """The club if `p` may act on it with `need` (member | read | admin); else 404 (not the
    caller's tenant) or 403 (the caller's club, but not enough rights)."""
    club = s.get(Club, club_id)
    if club is None:
        raise NotFound("Club not found.")
    if p.kind == "club" and p.club_id == club_id:
        if need == "admin" and not p.can("admin"):
            raise Forbidden("This API key lacks the `admin` scope.", code="insufficient_scope")
        return club
    if p.kind == "athlete":
        m = membership(s, club_id, p.athlete_id or "")
        if m is not None:
            if need != "member" and m.role != "admin":
                raise Forbidden("Only the club's admins can do this.")
            return club
    raise NotFound("Club not found.")


def clubs_of(s: Session, p: Principal) -> list[dict]:
    if p.kind == "club":
        club = s.get(Club, p.club_id)
        return [club_view(club, role=None)] if club else []
    if p.kind != "athlete":
        raise Forbidden("Integrator keys belong to no club.")
    rows = s.execute(select(Club, ClubMember).join(ClubMember, ClubMember.club_id == Club.id).where(
        ClubMember.athlete_id == p.athlete_id, ClubMember.withdrawn_at.is_(None))
        .order_by(Club.name)).all()
    return [club_view(c, role=m.role, member=m) for c, m in rows]


def club_view(club: Club, role: str | None, member: ClubMember | None = None) -> dict:
    out: dict[str, Any] = {"id": club.id, "name": club.name, "created_at": _iso(club.created_at),
                           "role": role}
    out["sharing"] = list(member.consent_scope or []) if member is not None else None
    return out


# ---- invites and consent -------------------------------------------------------------------------


def create_invite(s: Session, club_id: str, ttl: timedelta = INVITE_TTL) -> tuple[ClubInvite, str]:
    """An expiring invite link token (shown once, stored hashed); several runners may use it until
    it expires or an admin revokes it."""
    ttl = min(max(ttl, timedelta(hours=1)), MAX_INVITE_TTL)
    token = "inv_" + secrets.token_urlsafe(24)
    invite = ClubInvite(club_id=club_id, token_hash=hash_token(token), expires_at=utcnow() + ttl)
    s.add(invite)
    s.flush()
    return invite, token


def invite_for_token(s: Session, token: str) -> ClubInvite:
    invite = s.scalar(select(ClubInvite).where(ClubInvite.token_hash == hash_token(token)))
    if invite is None or invite.expires_at <= utcnow():
        raise NotFound("This invite link is not valid or has expired.")
    return invite


def invite_view(inv: ClubInvite) -> dict:
    return {"id": inv.id, "club_id": inv.club_id, "expires_at": _iso(inv.expires_at),
            "created_at": _iso(inv.created_at)}


def check_scope(scope: list[str]) -> list[str]:
    unknown = sorted(set(scope) - set(CONSENT_SCOPES))
    if not scope or unknown:
        raise InvalidInput("Choose what to share: at least one of the consent scopes.",
                           details={"unknown": unknown, "known": list(CONSENT_SCOPES)})
    return [k for k in CONSENT_SCOPES if k in scope]


def accept_invite(s: Session, invite: ClubInvite, athlete_id: str, scope: list[str]) -> ClubMember:
    """Join (or re-join after a withdrawal) with explicit consent to share `scope`."""
    scope = check_scope(scope)
    m = s.scalar(select(ClubMember).where(ClubMember.club_id == invite.club_id,
                                          ClubMember.athlete_id == athlete_id))
    now = utcnow()
    if m is None:
        m = ClubMember(club_id=invite.club_id, athlete_id=athlete_id, role="member")
        s.add(m)
    elif m.withdrawn_at is not None:
        m.role = "member"  # a re-join does not restore an old admin role
    m.consent_scope, m.consented_at, m.withdrawn_at = scope, now, None
    s.flush()
    return m


def withdraw(s: Session, club_id: str, athlete_id: str) -> ClubMember:
    """Stop sharing and leave, effective immediately: the club's views drop the runner at once."""
    m = membership(s, club_id, athlete_id)
    if m is None:
        raise NotFound("Club not found.")
    m.withdrawn_at, m.consent_scope, m.role = utcnow(), [], "member"
    return m


def member_row(s: Session, club_id: str, athlete_id: str) -> ClubMember:
    m = membership(s, club_id, athlete_id)
    if m is None:
        raise NotFound("Member not found.")
    return m


def set_role(s: Session, club_id: str, athlete_id: str, role: str) -> ClubMember:
    if role not in ROLES:
        raise InvalidInput("A role is `member` or `admin`.")
    m = member_row(s, club_id, athlete_id)
    if m.role == "admin" and role != "admin" and _admin_count(s, club_id) <= 1:
        raise Conflict("A club keeps at least one admin.", code="last_admin")
    m.role = role
    return m


def remove_member(s: Session, club_id: str, athlete_id: str) -> None:
    m = member_row(s, club_id, athlete_id)
    if m.role == "admin" and _admin_count(s, club_id) <= 1:
        raise Conflict("A club keeps at least one admin.", code="last_admin")
    m.withdrawn_at, m.consent_scope = utcnow(), []


def display_name(a, share: bool | None = None) -> str:
    """An Athlete or a row with `display_name`, `share_name` and `athlete_id`/`id`. Clubs never see
    emails: the runner's display name if they agreed to show it when joining, else a stable
    pseudonym."""
    ident = getattr(a, "athlete_id", None) or a.id
    share = bool(getattr(a, "share_name", False)) if share is None else share
    name = getattr(a, "display_name", None)
    return name if share and name else placeholder_name(ident)


def _admin_count(s: Session, club_id: str) -> int:
    return len(s.scalars(select(ClubMember.id).where(
        ClubMember.club_id == club_id, ClubMember.role == "admin",
        ClubMember.withdrawn_at.is_(None))).all())


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
