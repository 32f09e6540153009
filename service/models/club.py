from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class Club(Base):
    __tablename__ = "clubs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("club"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClubMember(Base):
    """Membership with explicit consent: what is shared, since when; withdrawal ends sharing."""

    __tablename__ = "club_members"
    __table_args__ = (
        UniqueConstraint("club_id", "athlete_id"),
        # The members who share: a club's count and its API pages (athlete id order) read this
        # index alone (issue 28: at 10,000 members, not the whole club per request).
        Index("ix_club_members_sharing", "club_id", "athlete_id",
              postgresql_where=text("withdrawn_at IS NULL AND consented_at IS NOT NULL"),
              sqlite_where=text("withdrawn_at IS NULL AND consented_at IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mem"))
    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), index=True)
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"),
                                            index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")  # member|admin
    consent_scope: Mapped[list] = mapped_column(JSONType, default=list)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The member agreed, when joining, that the club sees their display name (else a pseudonym).
    share_name: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClubInvite(Base):
    __tablename__ = "club_invites"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("inv"))
    club_id: Mapped[str] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """Club-admin and integrator keys: shown once, stored hashed, scoped, revocable."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    kind: Mapped[str] = mapped_column(String(20))  # club|integrator
    club_id: Mapped[str | None] = mapped_column(ForeignKey("clubs.id", ondelete="CASCADE"),
                                                index=True)
    # An integrator key speaks for its integrator (consent and connect links name the integrator,
    # so a rotated key keeps them).
    integrator_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrators.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JSONType, default=list)  # e.g. ["read"], ["read","admin"]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
