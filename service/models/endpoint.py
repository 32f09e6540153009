from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class Endpoint(Base):
    """An integrator's webhook URL. Secrets (`whsec_…`) are Fernet-encrypted; during a rotation the
    previous secret keeps signing until `previous_expires_at`, so receivers can switch without loss."""

    __tablename__ = "endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ep"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(300))
    event_types: Mapped[list] = mapped_column(JSONType, default=list)
    # Scope: one athlete, one club, or (both null) every athlete the operator serves.
    athlete_id: Mapped[str | None] = mapped_column(
        ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    club_id: Mapped[str | None] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"),
                                                index=True)
    owner_key_id: Mapped[str | None] = mapped_column(String(40))  # the API key that created it
    # Set for an integrator's endpoint: consent is per integrator (integrator_grants).
    integrator_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrators.id", ondelete="CASCADE"), index=True)
    owner_email: Mapped[str | None] = mapped_column(String(320))
    secret_enc: Mapped[str] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|disabled
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
