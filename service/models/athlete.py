from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
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
