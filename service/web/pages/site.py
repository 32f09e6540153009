"""The pages' blueprint, its shared helpers, and sign-in/out. The other page modules (`me`,
`views`, `account_email`) import this one, never the package, so no module imports back.

Server-rendered pages: sign-in, the runner's own page, joining a club, the club dashboard.

Jinja2 with autoescape; charts are inline SVG built on the server (service/web/pages/charts.py); the one
small script (static/site.js) sorts tables and sends the page's buttons to the JSON API with the
CSRF token. Everything is served from here: no CDN, no front-end build.

How people sign in to pages:
- runners: connecting Strava or Garmin is signing up or in (the OAuth callbacks call
  `service.web.auth.login_runner`); runners without a provider paste their personal token into the
  `/login` form (POST with the form's CSRF token: a token in a URL would be logged);
- club admins: a runner who is admin of a club (ClubMember.role == "admin") opens `/clubs/<id>`
  from `/me`; an admin without a runner account pastes a club API key into the `/login` form, which
  binds the browser session to that key (revoking the key ends the session). Keys are never accepted
  in a URL, where logs and browser history would keep them.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from service.domain import club_stats
from service.errors import ApiError
from service.web import auth, ratelimit

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web-static")


def _rt():
    return current_app.extensions["kneeguard"]


@bp.app_context_processor
def _globals() -> dict:
    return {"csrf_token": auth.csrf_token, "policy_note": club_stats.CLUB_POLICY_NOTE}


@bp.app_template_filter("weekday_date")
def _weekday_date(value) -> str:
    """"Tue 1 Dec" for an ISO date or a date (the page shows the year elsewhere)."""
    from datetime import date

    d = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}"


@bp.app_template_filter("severity_word")
def _severity_word(level) -> str:
    """One wording of each severity everywhere (workers/analysis/severity.py)."""
    from workers.analysis.severity import word

    return word(level)


@bp.errorhandler(ApiError)
def _page_error(exc: ApiError):
    return render_template("error.html", status=exc.status, message=exc.message), exc.status


def _next_url(default: str) -> str:
    return auth.safe_path(request.values.get("next", "")) or default


@bp.route("/login", methods=["GET", "POST"])
def login():
    auth.refuse_token_in_url()
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""),
                               providers=_providers())
    _check_form_csrf()  # login CSRF: a foreign page must not sign this browser into its account
    token = request.form.get("credential", "").strip()
    if not token:
        return render_template("login.html", error="Paste a token or key.",
                               next=request.values.get("next", ""), providers=_providers()), 400
    ratelimit.refuse_if_failing(token)
    with _rt().db.session() as s:
        found = _credential(s, token)
    if found is None:
        ratelimit.sign_in_failed(token)
        return render_template("login.html", error="That token or key is not valid.",
                               next=request.values.get("next", ""), providers=_providers()), 401
    kind, ident, club_id = found
    if kind == "athlete":
        auth.login_runner(ident)
        return redirect(_next_url(url_for("web.me")), 303)
    auth.login_key(ident)
    return redirect(_next_url(url_for("web.club_page", club_id=club_id)), 303)


def _credential(s, token: str) -> tuple[str, str, str | None] | None:
    from sqlalchemy import select

    from service.domain.accounts import athlete_for_token, hash_token
    from service.models import ApiKey

    if token.startswith(auth.KEY_PREFIX):
        key = s.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token)))
        if key is None or key.revoked_at is not None or key.kind != "club":
            return None  # integrator keys are for the API, not for pages
        return "club", key.id, key.club_id
    athlete = athlete_for_token(s, token)
    return ("athlete", athlete.id, None) if athlete else None


@bp.get("/logout")
def logout_page():
    """A link to /logout shows a button; only the POST (with the CSRF token) signs out, so a
    foreign page or an image tag cannot."""
    return render_template("logout.html")


@bp.post("/logout")
def logout():
    _check_form_csrf()
    auth.logout()
    return redirect(url_for("web.login"), 303)


def _check_form_csrf() -> None:
    import hmac

    from flask import session

    from service.errors import Forbidden

    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(given).encode(), str(expected).encode()):
        raise Forbidden("Missing or wrong CSRF token: reload the page and try again.",
                        code="csrf_failed")


def _providers() -> dict:
    return {"strava": _rt().settings.strava_enabled, "garmin": _rt().settings.garmin_enabled}


def _signed_in(kinds: tuple[str, ...] = ("athlete",)):
    """The page's principal, or a redirect to sign in."""
    p = auth.current_principal()
    if p.kind == "anonymous" or p.kind not in kinds:
        return None, redirect(url_for("web.login", next=request.full_path.rstrip("?")), 303)
    return p, None

