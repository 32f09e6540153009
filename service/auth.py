"""Who is calling. Every lookup is scoped by the principal; another tenant's ids answer 404."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request

from service.accounts import athlete_for_token
from service.errors import NotFound, Unauthorized


@dataclass(frozen=True)
class Principal:
    kind: str  # "athlete" (more kinds: club keys, integrator keys)
    athlete_id: str | None = None


def principal() -> Principal:
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send `Authorization: Bearer <token>`.")
    runtime = current_app.extensions["kneeguard"]
    with runtime.db.session() as s:
        athlete = athlete_for_token(s, token.strip())
        if athlete is None:
            raise Unauthorized("The token is not valid.")
        g.principal = Principal(kind="athlete", athlete_id=athlete.id)
    return g.principal


def require_athlete(athlete_id: str) -> Principal:
    """The caller must be this athlete; anyone else gets the same 404 as a missing athlete."""
    p = principal()
    if p.kind != "athlete" or p.athlete_id != athlete_id:
        raise NotFound("Athlete not found.")
    return p
