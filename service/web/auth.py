"""Who is calling. Every lookup is scoped by the principal; another tenant's ids answer 404.

Principals:
- `anonymous`: nothing presented;
- `athlete` (a runner): `Authorization: Bearer kg_…` personal token, or the signed session
  cookie set by `login_runner` (provider OAuth callbacks, the `/login` form). Tokens are never
  accepted in a URL: access logs and browser history would keep them;
- `club`: `Authorization: Bearer kgk_…` club API key (scopes `read`, `admin`), or a browser session
  made from such a key on the `/login` form;
- `integrator`: `Authorization: Bearer kgk_…` integrator API key.

Cookie sessions are only trusted for unsafe methods with a matching CSRF token (header
`X-CSRF-Token` or form field `csrf_token`): SameSite=Lax already stops cross-site POSTs, this also
covers old browsers and same-site attackers. The sign-in form itself needs the token too (login CSRF).

Sessions are signed cookies, so a copy keeps working until it expires unless the server can say no:
each carries the runner's (or key's) `session_version`; sign-out, token reissue and key revocation
change it, which ends every session of that runner or key at once. Cookies live 7 days
(service.SESSION_LIFETIME).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from sqlalchemy import select, update

from service.domain.accounts import athlete_for_token, hash_token
from service.domain.principal import ANONYMOUS, KEY_PREFIX, Principal
from service.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from service.models import ApiKey, Athlete, utcnow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_used_at is kept to the minute: writing it on every request would serialise reads on one row.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def current_principal() -> Principal:
    """The caller, possibly anonymous. A presented but invalid credential is a 401."""
    if "principal" not in g:
        g.principal = _resolve()
    return g.principal


def principal() -> Principal:
    """The caller, who must be signed in."""
    p = current_principal()
    if p.kind == "anonymous":
        raise Unauthorized("Send `Authorization: Bearer <token>` or sign in.")
    return p


def require_athlete(athlete_id: str) -> Principal:
    """The caller must be this athlete; anyone else gets the same 404 as a missing athlete."""
    p = principal()
    if p.kind != "athlete" or p.athlete_id != athlete_id:
        raise NotFound("Athlete not found.")
    return p


def require_runner() -> Principal:
    p = principal()
    if p.kind != "athlete":
        raise Forbidden("Only a runner can do this.")
    return p


def connecting_runner() -> str | None:
    """Who starts a provider connection: a signed-in runner (session or Bearer token) links the
    provider to their account; an anonymous visitor signs up or in (None). API keys cannot."""
    refuse_token_in_url()
    p = current_principal()
    if p.kind == "anonymous":
        return None
    return require_runner().athlete_id


def refuse_token_in_url() -> None:
    """Credentials in a query string end up in access logs and browser history: refuse them
    outright rather than quietly ignore them, so a stale link says what to do instead."""
    if "token" in request.args:
        raise InvalidInput("Tokens are not accepted in URLs: sign in on /login or send "
                           "`Authorization: Bearer <token>`.", code="token_in_url")


def browser_binding() -> str:
    """The hash of this browser's OAuth binding value (created on first use). The value lives in
    the signed session cookie; the OAuth state row keeps only its hash."""
    if "oauth_bind" not in session:
        session["oauth_bind"] = secrets.token_urlsafe(24)
    return hash_token(session["oauth_bind"])


def current_binding() -> str | None:
    value = session.get("oauth_bind")
    return hash_token(value) if value else None


def safe_path(target: str | None) -> str | None:
    """Only same-site paths (never an open redirect). Browsers drop tabs and newlines from a URL
    and read a backslash as a slash, so `/\t/evil.com` and `/\\evil.com` are `//evil.com` to
    them: any control character, space or backslash is refused, as is anything a URL parser
    reads as having a scheme or a host."""
    if not target or len(target) > 300 or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) else None


def return_path() -> str | None:
    return safe_path(request.args.get("next"))


def landing(return_to: str | None, provider: str, created: bool) -> str:
    """Where a finished connect lands: the page it started from (an invite), else /me."""
    if safe_path(return_to):  # checked when stored too; rows from older versions were not
        return return_to
    return f"/me?connected={provider}" + ("&welcome=1" if created else "")


def wants_html() -> bool:
    """A browser (Accept prefers text/html) rather than an API client or a test."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


# ---- sessions ------------------------------------------------------------------------------------


def login_runner(athlete_id: str) -> None:
    """Sign a runner in on this browser (called by /login and the provider OAuth callbacks)."""
    with _runtime().db.session() as s:
        version = s.scalar(select(Athlete.session_version).where(Athlete.id == athlete_id))
    _login("athlete_id", athlete_id, version or 0)


def login_key(key_id: str) -> None:
    """A browser session bound to a club API key (club admins without a runner account)."""
    with _runtime().db.session() as s:
        version = s.scalar(select(ApiKey.session_version).where(ApiKey.id == key_id))
    _login("key_id", key_id, version or 0)


def _login(field: str, ident: str, version: int) -> None:
    session.clear()  # a fresh session: nothing chosen before sign-in survives (fixation)
    session[field] = ident
    session["v"] = version
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True
    g.pop("principal", None)


def logout() -> None:
    """Sign out everywhere: the version bump ends every copy of every session of this runner
    (or club key), not just this browser's cookie."""
    with _runtime().db.session() as s:
        if "athlete_id" in session:
            end_sessions(s, Athlete, session["athlete_id"])
        elif "key_id" in session:
            end_sessions(s, ApiKey, session["key_id"])
    session.clear()
    g.pop("principal", None)


def end_sessions(s, model, ident: str) -> None:
    s.execute(update(model).where(model.id == ident)
              .values(session_version=model.session_version + 1))


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


# ---- resolution ----------------------------------------------------------------------------------


def _resolve() -> Principal:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send `Authorization: Bearer <token>`.")
        return _from_token(token.strip())
    if "athlete_id" in session or "key_id" in session:
        return _from_session()
    return ANONYMOUS


def _runtime():
    return current_app.extensions["kneeguard"]


def _from_token(token: str) -> Principal:
    with _runtime().db.session() as s:
        if token.startswith(KEY_PREFIX):
            key = s.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token)))
            if key is None or key.revoked_at is not None:
                raise Unauthorized("The API key is not valid.")
            return _key_principal(s, key, via="key")
        athlete = athlete_for_token(s, token)
        if athlete is None:
            raise Unauthorized("The token is not valid.")
        return Principal(kind="athlete", athlete_id=athlete.id, via="token")


def _from_session() -> Principal:
    if request.method not in SAFE_METHODS:
        given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
        if not hmac.compare_digest(str(given).encode(), str(session.get("csrf", "")).encode()):
            raise Forbidden("Missing or wrong CSRF token.", code="csrf_failed")
    with _runtime().db.session() as s:
        if "athlete_id" in session:
            athlete = s.get(Athlete, session["athlete_id"])
            if athlete is None or athlete.session_version != session.get("v"):
                session.clear()  # deleted, signed out elsewhere, or the token was reissued
                return ANONYMOUS
            return Principal(kind="athlete", athlete_id=athlete.id, via="session")
        key = s.get(ApiKey, session["key_id"])
        if key is None or key.revoked_at is not None or key.session_version != session.get("v"):
            session.clear()
            return ANONYMOUS
        return _key_principal(s, key, via="session")


def _key_principal(s, key: ApiKey, via: str) -> Principal:
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        s.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Principal(kind=key.kind, club_id=key.club_id, key_id=key.id,
                     scopes=frozenset(key.scopes or []), via=via)
