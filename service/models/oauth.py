from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow


class OAuthState(Base):
    """A single-use, expiring OAuth `state` (and the PKCE verifier that goes with it)."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    athlete_id: Mapped[str | None] = mapped_column(String(40))
    code_verifier_enc: Mapped[str | None] = mapped_column(Text)
    options: Mapped[str | None] = mapped_column(String(200))  # e.g. "note=1"
    # sha256 of a random value kept in the starting browser's session: the callback must come
    # from that same browser (stops account-linking CSRF with a forwarded authorize URL).
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    return_to: Mapped[str | None] = mapped_column(String(300))  # same-site path, e.g. /join/…
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
