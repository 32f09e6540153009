from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint, text
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
        # The dashboard's order (most at risk first): a page is a walk of offset + 50 entries of
        # this index, and reads nothing else of the members it skips (domain/club_ranking.py).
        Index("ix_club_members_rank", "club_id", "rank_minus_level", "rank_minus_findings",
              "rank_name", "athlete_id",
              postgresql_where=text("withdrawn_at IS NULL AND consented_at IS NOT NULL"),
              sqlite_where=text("withdrawn_at IS NULL AND consented_at IS NOT NULL")),
        # The rows a request recomputes before it reads a page: marked by a trigger, or a
        # finding entering or leaving the risk window.
        Index("ix_club_members_rank_due", "club_id", "rank_due_on"),
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
    # The ranking key, written only by domain/club_ranking.py: minus the risk level (0 none ..
    # -3 high) and minus the number of recent findings the member shares (negated so that every
    # column of the index ascends: most at risk first), then the name the club sees, lower-cased
    # (byte order: "C" on PostgreSQL, whatever the database's locale).
    rank_minus_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    rank_minus_findings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rank_name: Mapped[str] = mapped_column(
        String().with_variant(String(collation="C"), "postgresql"), default="",
        server_default="")
    # The first day the key may be wrong: the day a finding leaves (or enters) the window, None
    # when none will; RANK_DUE_NOW when a trigger saw one of its inputs change. Never set in
    # Python elsewhere: new rows take the server default (due now).
    rank_due_on: Mapped[date | None] = mapped_column(Date, server_default=text("'1970-01-01'"))
    # Bumped by every trigger mark: a recompute writes its key only if no mark came in between
    # (what it read may be older than the mark).
    rank_marks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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
