from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class Connection(Base):
    """A runner's link to a provider account. Tokens are Fernet-encrypted at rest."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("provider", "provider_user_id"),
        UniqueConstraint("athlete_id", "provider"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("con"))
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_user_id: Mapped[str] = mapped_column(String(64))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the refresh token itself dies (Garmin: refresh_token_expires_in, ~90 days); None when
    # the provider does not say. A periodic job refreshes ahead of it.
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|revoked|disabled
    status_reason: Mapped[str | None] = mapped_column(Text)  # why revoked/disabled, for the runner
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
