"""Who is calling. Every lookup is scoped by the principal; another tenant's ids answer 404.

Principals:
- `anonymous`: nothing presented;
- `athlete` (a runner): `Authorization: Bearer kg_…` personal token, or the signed session
  cookie set by `login_runner` (provider OAuth callbacks, `/login?token=`);
- `club`: `Authorization: Bearer kgk_…` club API key (scopes `read`, `admin`), or a browser session
  made from such a key on the `/login` form;
- `integrator`: `Authorization: Bearer kgk_…` integrator API key.

Cookie sessions are only trusted for unsafe methods with a matching CSRF token (header
`X-CSRF-Token` or form field `csrf_token`): SameSite=Lax already stops cross-site POSTs, this also
covers old browsers and same-site attackers.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, g, request, session
from sqlalchemy import select, update

from service.accounts import athlete_for_token, hash_token
from service.errors import Forbidden, NotFound, Unauthorized
from service.models import ApiKey, Athlete, utcnow

KEY_PREFIX = "kgk_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_used_at is kept to the minute: writing it on every request would serialise reads on one row.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | athlete | club | integrator
    athlete_id: str | None = None
    club_id: str | None = None
    key_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    via: str = "none"  # none | token | key | session

    @property
    def is_key(self) -> bool:
        return self.kind in ("club", "integrator")

    def can(self, scope: str) -> bool:
        # admin implies read
        return scope in self.scopes or (scope == "read" and "admin" in self.scopes)

    @property
    def rate_identity(self) -> str | None:
        if self.key_id:
            return f"key:{self.key_id}"
        if self.athlete_id:
            return f"athlete:{self.athlete_id}"
        return None


ANONYMOUS = Principal(kind="anonymous")


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


def connecting_runner() -> str:
    """The runner starting a provider connection: a signed-in runner (session or Bearer token),
    or `?token=<personal token>` on a plain browser link. API keys cannot connect accounts."""
    token = request.args.get("token", "").strip()
    p = current_principal()
    if p.kind == "anonymous" and token:
        with current_app.extensions["kneeguard"].db.session() as s:
            athlete = athlete_for_token(s, token)
            if athlete is None:
                raise Unauthorized("The token is not valid.")
            return athlete.id
    return require_runner().athlete_id


def wants_html() -> bool:
    """A browser (Accept prefers text/html) rather than an API client or a test."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def require_scope(p: Principal, scope: str) -> None:
    if p.is_key and not p.can(scope):
        raise Forbidden(f"This API key lacks the `{scope}` scope.", code="insufficient_scope")


# ---- sessions ------------------------------------------------------------------------------------


def login_runner(athlete_id: str) -> None:
    """Sign a runner in on this browser (called by /login and the provider OAuth callbacks)."""
    session.clear()
    session["athlete_id"] = athlete_id
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True
    g.pop("principal", None)


def login_key(key_id: str) -> None:
    """A browser session bound to a club API key (club admins without a runner account)."""
    session.clear()
    session["key_id"] = key_id
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True
    g.pop("principal", None)


def logout() -> None:
    session.clear()
    g.pop("principal", None)


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
            if s.get(Athlete, session["athlete_id"]) is None:  # deleted since sign-in
                session.clear()
                return ANONYMOUS
            return Principal(kind="athlete", athlete_id=session["athlete_id"], via="session")
        key = s.get(ApiKey, session["key_id"])
        if key is None or key.revoked_at is not None:
            session.clear()
            return ANONYMOUS
        return _key_principal(s, key, via="session")


def _key_principal(s, key: ApiKey, via: str) -> Principal:
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        s.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return Principal(kind=key.kind, club_id=key.club_id, key_id=key.id,
                     scopes=frozenset(key.scopes or []), via=via)
