"""Running a club from the browser: create it from /me, invite links (shown once, with a copy
button), revoke them, the member list with remove, and the club's API keys (create with a scope,
revoke).

Plain HTML forms posting back here with the page's CSRF token (no script needed); a secret (an
invite link, a key) is shown in the answer to the POST that made it, once, as the API does: only
its hash is stored. Rights are the API's: `clubs.club_for(..., need="admin")`.
"""

from __future__ import annotations

from datetime import timedelta

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from service.domain import clubs
from service.errors import InvalidInput
from service.models import ApiKey, Athlete, ClubInvite, ClubMember
from service.web.pages.site import _check_form_csrf, _rt, _signed_in, bp

ADMINS = ("athlete", "club")
INVITE_DAYS = (1, 7, 30)


def _admin(s, club_id: str):
    p, go = _signed_in(ADMINS)
    if go:
        return None, None, go
    return p, clubs.club_for(s, p, club_id, need="admin"), None


@bp.post("/me/clubs")
def create_club():
    p, go = _signed_in()
    if go:
        return go
    _check_form_csrf()
    name = request.form.get("name", "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("A club needs a name (at most 200 characters).")
    with _rt().db.session() as s:
        club = clubs.create_club(s, name, admin_athlete_id=p.athlete_id)
        club_id = club.id
    return redirect(url_for("web.club_people", club_id=club_id, notice="created"), 303)


@bp.get("/clubs/<club_id>/people")
def club_people(club_id: str):
    return _people(club_id)


@bp.post("/clubs/<club_id>/invites/new")
def new_invite(club_id: str):
    days = request.form.get("days", "7")
    if days not in {str(d) for d in INVITE_DAYS}:
        raise InvalidInput(f"An invite lasts {', '.join(map(str, INVITE_DAYS))} days.")
    return _people(club_id, make_invite=timedelta(days=int(days)))


def _people(club_id: str, make_invite: timedelta | None = None):
    with _rt().db.session() as s:
        p, club, go = _admin(s, club_id)
        if go:
            return go
        new_url = None
        if make_invite is not None:
            _check_form_csrf()
            _, token = clubs.create_invite(s, club_id, make_invite)
            new_url = f"{_rt().settings.public_url}/join/{token}"
        return render_template("club_people.html", club=club, principal=p, new_url=new_url,
                               invites=_invites(s, club_id), members=_members(s, club_id),
                               days=INVITE_DAYS, notice=request.args.get("notice"))


def _invites(s, club_id: str) -> list[ClubInvite]:
    from service.models import utcnow

    return s.scalars(select(ClubInvite).where(ClubInvite.club_id == club_id,
                                              ClubInvite.expires_at > utcnow())
                     .order_by(ClubInvite.created_at.desc())).all()


def _members(s, club_id: str) -> list[dict]:
    rows = s.execute(select(ClubMember, Athlete).join(Athlete, Athlete.id == ClubMember.athlete_id)
                     .where(ClubMember.club_id == club_id, ClubMember.withdrawn_at.is_(None))
                     .order_by(ClubMember.consented_at)).all()
    return [{"athlete_id": a.id, "name": clubs.display_name(a, m.share_name), "role": m.role,
             "since": m.consented_at, "sharing": list(m.consent_scope or [])} for m, a in rows]


@bp.post("/clubs/<club_id>/invites/<invite_id>/revoke")
def revoke_invite(club_id: str, invite_id: str):
    with _rt().db.session() as s:
        _, _, go = _admin(s, club_id)
        if go:
            return go
        _check_form_csrf()
        invite = s.get(ClubInvite, invite_id)
        if invite is not None and invite.club_id == club_id:
            s.delete(invite)
    return redirect(url_for("web.club_people", club_id=club_id, notice="invite-revoked"), 303)


@bp.post("/clubs/<club_id>/members/<athlete_id>/remove")
def remove_member(club_id: str, athlete_id: str):
    with _rt().db.session() as s:
        _, _, go = _admin(s, club_id)
        if go:
            return go
        _check_form_csrf()
        clubs.remove_member(s, club_id, athlete_id)
    return redirect(url_for("web.club_people", club_id=club_id, notice="member-removed"), 303)


@bp.get("/clubs/<club_id>/keys")
def club_keys(club_id: str):
    return _keys(club_id)


@bp.post("/clubs/<club_id>/keys/new")
def new_key(club_id: str):
    scopes = [x for x in clubs.KEY_SCOPES if x in request.form.getlist("scope")]
    if not scopes:
        raise InvalidInput("Choose a scope: `read` (the dashboard and member data) or `admin`.")
    name = request.form.get("name", "").strip()[:200] or None
    return _keys(club_id, make=(name, scopes))


def _keys(club_id: str, make: tuple | None = None):
    with _rt().db.session() as s:
        p, club, go = _admin(s, club_id)
        if go:
            return go
        new_key = None
        if make is not None:
            _check_form_csrf()
            _, new_key = clubs.issue_key(s, "club", make[0], make[1], club_id=club_id)
        keys = s.scalars(select(ApiKey).where(ApiKey.club_id == club_id)
                         .order_by(ApiKey.created_at.desc())).all()
        return render_template("club_keys.html", club=club, principal=p, keys=keys,
                               new_key=new_key, scopes=clubs.KEY_SCOPES,
                               notice=request.args.get("notice"))


@bp.post("/clubs/<club_id>/keys/<key_id>/revoke")
def revoke_key(club_id: str, key_id: str):
    with _rt().db.session() as s:
        _, _, go = _admin(s, club_id)
        if go:
            return go
        _check_form_csrf()
        clubs.revoke_key(s, key_id, club_id=club_id)
    return redirect(url_for("web.club_keys", club_id=club_id, notice="key-revoked"), 303)
