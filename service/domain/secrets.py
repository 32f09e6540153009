"""Secrets at rest across every table: re-encrypt with the newest Fernet key (`kneeguard keys rotate`)."""

from __future__ import annotations

from sqlalchemy import select

from service.infra.runtime import Runtime
from service.models import Connection, Endpoint, OAuthState


def rotate_keys(rt: Runtime) -> dict:
    """Re-encrypt every stored secret with the newest key (MultiFernet.rotate keeps timestamps)."""
    counts = {"connections": 0, "endpoints": 0, "oauth_states": 0}
    with rt.db.session() as s:
        for conn in s.scalars(select(Connection)):
            conn.access_token_enc = _rot(rt, conn.access_token_enc)
            conn.refresh_token_enc = _rot(rt, conn.refresh_token_enc)
            counts["connections"] += 1
        for ep in s.scalars(select(Endpoint)):
            ep.secret_enc = rt.box.rotate(ep.secret_enc)
            ep.previous_secret_enc = _rot(rt, ep.previous_secret_enc)
            counts["endpoints"] += 1
        for st in s.scalars(select(OAuthState)):
            st.code_verifier_enc = _rot(rt, st.code_verifier_enc)
            counts["oauth_states"] += 1
    return counts


def _rot(rt: Runtime, value: str | None) -> str | None:
    return rt.box.rotate(value) if value else value

