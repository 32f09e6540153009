from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class Integrator(Base):
    """A third party that receives webhooks and reads the API with its own keys. Its keys come and
    go (rotation, revocation); its id is what runners consent to and what connect links name."""

    __tablename__ = "integrators"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("int"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntegratorGrant(Base):
    """One runner and one integrator: what the runner shares with it (`scopes`, empty = nothing)
    and the integrator's own reference for the runner (`ref`, from a signed connect link)."""

    __tablename__ = "integrator_grants"
    __table_args__ = (UniqueConstraint("athlete_id", "integrator_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("grt"))
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"),
                                            index=True)
    integrator_id: Mapped[str] = mapped_column(ForeignKey("integrators.id", ondelete="CASCADE"),
                                               index=True)
    scopes: Mapped[list] = mapped_column(JSONType, default=list)
    ref: Mapped[str | None] = mapped_column(String(200))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WithdrawnFinding(Base):
    """What is left of a finding a re-analysis dropped (the row itself is deleted): enough for the
    findings API to list it as withdrawn. Removed again if the finding comes back (same id)."""

    __tablename__ = "withdrawn_findings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the finding's id
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"),
                                            index=True)
    activity_id: Mapped[str | None] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    date: Mapped[date] = mapped_column(Date)
    sources: Mapped[list] = mapped_column(JSONType, default=list)
    reason: Mapped[str] = mapped_column(String(40), default="no_longer_holds")
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
