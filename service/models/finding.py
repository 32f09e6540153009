from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class Finding(Base):
    """One rule's verdict for one athlete, day and (optionally) activity.

    `subject` is the activity id or "day" for day-level rules, so the unique key has no NULLs and a
    re-run analysis upserts instead of duplicating.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("athlete_id", "rule", "date", "subject"),
        Index("ix_findings_athlete_date", "athlete_id", "date"),
        # The club dashboard ranks members by the last 4 weeks of findings, whoever they belong
        # to: a date range, not a per-athlete one (a seq scan of every finding otherwise).
        Index("ix_findings_date", "date"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("fnd"))
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    activity_id: Mapped[str | None] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(40))
    date: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(10))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSONType, default=dict)
    sources: Mapped[list] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
