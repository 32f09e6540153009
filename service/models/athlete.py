from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class Athlete(Base):
    __tablename__ = "athletes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ath"))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # sha256 of the personal API token; the token itself is shown once and never stored.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    preferences: Mapped[dict] = mapped_column(JSONType, default=dict)
    thresholds: Mapped[dict] = mapped_column(JSONType, default=dict)
    note_writeback: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The name the runner chose for clubs (default: provider first name + initial); clubs see it
    # only where the member agreed to it when joining (ClubMember.share_name).
    display_name: Mapped[str | None] = mapped_column(String(80))
    # Bumped by sign-out everywhere and token reissue: every cookie signed with an older version
    # stops working, since Flask's sessions live in the (copyable) cookie itself.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # An address added on /me waits here until its confirmation link is opened; only `email`
    # (confirmed, or given by the operator) ever receives warnings.
    pending_email: Mapped[str | None] = mapped_column(String(320))
    email_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    email_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
