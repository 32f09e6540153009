"""API keys of a club (admin: issue, list, revoke) and the caller's own identity.

A key is shown once, in the response that creates it; only its sha256 is stored.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from service.domain import clubs
from service.errors import NotFound
from service.models import ApiKey
from service.web.api.endpoints import parse
from service.web.auth import current_principal, principal

bp = Blueprint("keys", __name__, url_prefix="/v1")


Scope = Literal["read", "admin"]


class CreateKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["read"]), min_length=1,
                                max_length=2)


def _rt():
    return current_app.extensions["kneeguard"]


@bp.get("/whoami")
def whoami():
    """Who the credential belongs to (anonymous without one)."""
    p = current_principal()
    return {"kind": p.kind, "athlete_id": p.athlete_id, "club_id": p.club_id,
            "key_id": p.key_id, "scopes": sorted(p.scopes), "via": p.via}


@bp.post("/clubs/<club_id>/keys")
def create_key(club_id: str):
    body = parse(CreateKey)
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        row, key = clubs.issue_key(s, "club", body.name, list(body.scopes), club_id=club_id)
        return dict(clubs.key_view(row), key=key), 201


@bp.get("/clubs/<club_id>/keys")
def list_keys(club_id: str):
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        rows = s.scalars(select(ApiKey).where(ApiKey.club_id == club_id)
                         .order_by(ApiKey.created_at)).all()
        return {"keys": [clubs.key_view(k) for k in rows]}


@bp.delete("/clubs/<club_id>/keys/<key_id>")
def revoke_key(club_id: str, key_id: str):
    with _rt().db.session() as s:
        clubs.club_for(s, principal(), club_id, need="admin")
        try:
            clubs.revoke_key(s, key_id, club_id=club_id)
        except NotFound:
            raise NotFound("API key not found.") from None
    return "", 204
