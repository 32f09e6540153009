"""The page views: /, /join/<token>, /clubs/<id>, /clubs/<id>/members/<athlete_id> (/me is in me.py)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from flask import redirect, render_template, request, url_for

from service.domain import club_stats, clubs, signup
from service.domain.member_series import member_series
from service.errors import Forbidden, NotFound
from service.models import Athlete
from service.web import auth
from service.web.api.params import int_arg
from service.web.pages import me, words
from service.web.pages.charts import sparkline
from service.web.pages.knee_chart import knee_section
from service.web.pages.site import _providers, _rt, _signed_in, bp

PER_PAGE = 50  # members per dashboard page, most at risk first


@bp.get("/")
def home():
    """The service's front door: the runner's page (which sends strangers to /login)."""
    return redirect(url_for("web.me"), 303)


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    with _rt().db.session() as s:
        invite = clubs.invite_for_token(s, token)
        club = s.get(clubs.Club, invite.club_id)
        p = auth.current_principal()
        if request.method == "POST":
            if p.kind != "athlete" or p.athlete_id is None:
                raise Forbidden("Sign in as a runner to join a club.")
            scope = request.form.getlist("scope")
            member = clubs.accept_invite(s, invite, p.athlete_id, scope)
            member.share_name = request.form.get("share_name") == "1"
            return redirect(url_for("web.me", joined=club.id), 303)
        athlete = s.get(Athlete, p.athlete_id) if p.kind == "athlete" else None
        return render_template("join.html", club=club, invite=invite, token=token, principal=p,
                               scopes=clubs.CONSENT_SCOPES, athlete=athlete,
                               placeholder=athlete is not None and signup.is_placeholder(athlete),
                               providers=_providers())


@bp.get("/clubs/<club_id>")
def club_page(club_id: str):
    p, go = _signed_in(("athlete", "club"))
    if go:
        return go
    as_of = club_stats.today()
    page = int_arg("page", 1, 1, 100_000)
    with _rt().db.session() as s:
        club = clubs.club_for(s, p, club_id, need="read")
        rows, total = club_stats.dashboard_page(s, club_id, as_of, weeks=12, page=page,
                                                per_page=PER_PAGE)
        for r in rows:
            r["spark_km"] = sparkline([_km(w["distance_m"]) for w in r["weeks"]],
                                      label=f"weekly km, last {len(r['weeks'])} weeks")
            r["spark_loss"] = sparkline([w["loss_m"] for w in r["weeks"]], css="spark loss",
                                        label="weekly descent (m)")
            r["km_4w"] = _sum_last(r["weeks"], "distance_m", 4, 0.001)
            r["guide"] = (words.guide(r["latest_finding"]["rule"], "coach")
                          if r["latest_finding"] else None)
        return render_template("club.html", club=club, rows=rows, as_of=as_of, principal=p,
                               base=url_for("web.club_page", club_id=club_id), page=page,
                               pages=max(1, -(-total // PER_PAGE)), total=total,
                               first=(page - 1) * PER_PAGE)


@bp.get("/clubs/<club_id>/members/<athlete_id>")
def member_page(club_id: str, athlete_id: str):
    p, go = _signed_in(("athlete", "club"))
    if go:
        return go
    as_of = club_stats.today()
    with _rt().db.session() as s:
        club = clubs.club_for(s, p, club_id, need="read")
        found = club_stats.sharing_member(s, club_id, athlete_id)
        if found is None:
            raise NotFound("Member not found.")
        m, a = found
        scope = list(m.consent_scope or [])
        series = member_series(s, athlete_id, scope, as_of, weeks=26)
        fs = (club_stats.visible_findings(s, as_of.replace(year=as_of.year - 1), as_of,
                                          athlete_id=athlete_id).get(athlete_id, [])
              if "findings" in scope else [])
        return render_template("member.html", club=club, member=m,
                               name=clubs.display_name(a, m.share_name), scope=scope,
                               groups=me.finding_groups([_as_row(f) for f in fs[:40]], as_of,
                                                        "coach"),
                               charts=me.charts(series, "their"), as_of=as_of,
                               knee=knee_section(s, athlete_id, as_of, "their",
                                                 _rt().settings.thresholds)
                               if "load" in scope else None)


def _as_row(f: dict) -> SimpleNamespace:
    return SimpleNamespace(**{**f, "date": date.fromisoformat(f["date"])})


def _km(metres: float | None) -> float | None:
    return None if metres is None else metres / 1000.0


def _sum_last(weeks: list[dict], field: str, n: int, scale: float) -> float | None:
    values = [w[field] for w in weeks[-n:]]
    if any(v is None for v in values):
        return None
    return round(sum(values) * scale, 1)
