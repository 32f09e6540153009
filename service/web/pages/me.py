"""The runner's home, /me: upload, runs, the four charts, findings in plain words, and the account
(display name, optional confirmed email, connections, preferences, clubs, delete).

Everything here is the runner's own data, so every source counts (Strava-derived runs included:
they are shown to their owner only).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import func, select

from service.domain import club_stats, clubs, signup
from service.domain.deliveries import preferences
from service.domain.member_series import member_series
from service.errors import InvalidInput
from service.models import Activity, Athlete, Connection, Finding
from service.web.api.params import int_arg
from service.web.pages import account_email, history, words
from service.web.pages.charts import bar_chart, pair_chart
from service.web.pages.knee_chart import knee_section
from service.web.pages.site import _providers, _rt, _signed_in, bp

PER_PAGE = 20
RECENT_DAYS = 28  # findings older than this, of severity info, are folded away
ALL_SCOPES = ["findings", "distance", "descent", "routes", "load"]
SOURCE_LABELS = {"strava": "Strava", "garmin": "Garmin", "upload": "Uploaded file",
                 "strava_export": "Strava export", "garmin_export": "Garmin export"}


@bp.get("/me")
def me():
    p, go = _signed_in()
    if go:
        return go
    page = int_arg("page", 1, 1, 100_000)
    until = history.parse_until(request.args.get("until"))
    today = club_stats.today()
    with _rt().db.session() as s:
        athlete = s.get(Athlete, p.athlete_id)
        runs, total = runs_page(s, p.athlete_id, page)
        conns = s.scalars(select(Connection).where(Connection.athlete_id == p.athlete_id)).all()
        window = history.chart_window(s, p.athlete_id, today, until)
        series = member_series(s, p.athlete_id, ALL_SCOPES, window["end"],
                               weeks=window["weeks"], runs=club_stats.own_runs())
        found, about = history.findings(s, p.athlete_id)
        return render_template(
            "me.html", athlete=athlete, placeholder=signup.is_placeholder(athlete),
            labels=SOURCE_LABELS, runs=runs, page=page,
            pages=max(1, -(-total // PER_PAGE)), total=total,
            connections={c.provider: c for c in conns}, window=window,
            charts=charts(series, "your", window["weeks"]),
            garmin=_status(s, conns, "garmin"),
            groups=finding_groups(found, min(window["newest"] or today, today), runs=about),
            knee=knee_section(s, p.athlete_id, window["end"], "your", _rt().settings.thresholds),
            prefs=preferences(athlete), memberships=clubs.clubs_of(s, p), providers=_providers(),
            welcome=request.args.get("welcome") == "1", notice=request.args.get("notice"),
            joined=_joined(s, p.athlete_id, request.args.get("joined")))


def _joined(s, athlete_id: str, club_id: str | None):
    """The club named by `?joined=` when this runner really is a member of it (else nothing)."""
    if not club_id:
        return None
    m = clubs.membership(s, club_id, athlete_id)
    if m is None or m.withdrawn_at is not None:
        return None
    return s.get(clubs.Club, club_id)


def _status(s, conns: list[Connection], provider: str) -> dict | None:
    """The provider's own account of its connection (Garmin: revoked, paused, history)."""
    hooks = current_app.extensions["kneeguard.providers"].get(provider)
    conn = next((c for c in conns if c.provider == provider), None)
    if conn is None or hooks is None or hooks.status_view is None:
        return None
    return hooks.status_view(s, conn)


def runs_page(s, athlete_id: str, page: int) -> tuple[list[dict], int]:
    """One page of runs, newest first, each with its findings (most severe first)."""
    total = s.scalar(select(func.count()).select_from(Activity)
                     .where(Activity.athlete_id == athlete_id))
    rows = s.scalars(select(Activity).where(Activity.athlete_id == athlete_id)
                     .order_by(Activity.start_time.desc())
                     .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    ids = [a.id for a in rows]
    by_run: dict[str, list] = {}
    if ids:
        for f in s.scalars(select(Finding).where(Finding.activity_id.in_(ids))):
            by_run.setdefault(f.activity_id, []).append(f)
    return [run_view(a, by_run.get(a.id, [])) for a in rows], total or 0


def run_view(a: Activity, findings: list) -> dict:
    m = a.metrics or {}
    route = m.get("route") or {}
    return {"id": a.id, "start": a.start_time, "name": a.name, "source": a.source,
            "sport": a.sport or "unknown", "km": a.distance_m / 1000.0,
            "duration": _duration(a.moving_time_s), "descent": a.loss_m,
            "shape": _shape(route, a), "status": a.status, "error": a.error,
            "findings": [{"severity": f.severity, "title": words.guide(f.rule)["title"]}
                         for f in words.by_severity(findings)]}


def _duration(seconds: float | None) -> str:
    if not seconds:
        return "–"
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _shape(route: dict, a: Activity) -> str:
    if a.indoor or a.manual:
        return "indoor" if a.indoor else "manual entry"
    if not route.get("has_gps"):
        return "no GPS"
    shape = (route.get("shape") or "route").replace("_", " ")
    way = {"cw": "clockwise", "ccw": "anticlockwise"}.get(route.get("direction") or "", "")
    return f"{shape}, {way}" if way else shape


def charts(series: dict, whose: str, span: int = 26) -> dict:
    """The four charts of the club member page, for the runner's own history (`span` weeks)."""
    weeks = series["weeks"]
    labels = [w["start"] for w in weeks]
    runs = (series.get("runs") or [])[-40:]
    rep = series.get("route_repetition") or []
    return {
        "distance": bar_chart(labels, [w["distance_m"] for w in weeks], unit="km", scale=0.001,
                              title=f"Weekly distance: {whose} {span} weeks (km)"),
        "runs": pair_chart([r["date"] for r in runs], [r["distance_m"] for r in runs],
                           [r["longest_30d_m"] for r in runs], unit="km", scale=0.001,
                           title="Each run vs the longest run of the 30 days before it",
                           names=("run", "30-day longest")),
        "descent": bar_chart(labels, [w["loss_m"] for w in weeks], unit="m",
                             title="Weekly descent (metres downhill)", css="chart loss"),
        "routes": bar_chart([r["week_ending"] for r in rep],
                            [None if r["share"] is None else r["share"] * 100 for r in rep],
                            unit="%", title="Route habit: share of road km on the same stretches",
                            css="chart routes"),
    }


def finding_groups(findings: list, today: date, audience: str = "runner", *,
                   runs: dict | None = None) -> dict:
    """{"recent": [week groups], "older": [...]}: each week's findings most severe first, in plain
    words, each with the run it is about (`runs`: {activity_id: run}); `info` context older than
    a few weeks before `today` (the runner's newest run, for an imported history) is folded."""
    recent: dict[date, list[dict]] = {}
    older: dict[date, list[dict]] = {}
    for f in findings:
        week = f.date - timedelta(days=f.date.weekday())
        old = f.severity == "info" and (today - f.date).days > RECENT_DAYS
        (older if old else recent).setdefault(week, []).append(
            {"severity": f.severity, "date": f.date, "message": f.message,
             "activity_id": f.activity_id, "run": (runs or {}).get(f.activity_id),
             **words.guide(f.rule, audience)})
    return {"recent": _weeks(recent), "older": _weeks(older)}


def _weeks(groups: dict) -> list[dict]:
    out = []
    for week in sorted(groups, reverse=True):
        items = sorted(groups[week], key=lambda x: (words.SEVERITY_ORDER.get(x["severity"], 3),
                                                    -x["date"].toordinal()))
        out.append({"week": week, "items": items})
    return out


@bp.post("/me/name")
def set_name():
    p, go = _signed_in()
    if go:
        return go
    try:
        name = signup.clean_display_name(request.form.get("display_name", ""))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with _rt().db.session() as s:
        s.get(Athlete, p.athlete_id).display_name = name
    return redirect(url_for("web.me", notice="name"), 303)


account_email.register(bp)
