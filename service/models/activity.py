from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, new_id, utcnow


class RawFile(Base):
    """The bytes exactly as received, so a file is never fetched twice and can be re-parsed."""

    __tablename__ = "raw_files"
    __table_args__ = (UniqueConstraint("athlete_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("raw"))
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("source", "provider_activity_id"),
        Index("ix_activities_athlete_start", "athlete_id", "start_time"),
        # Covers the club dashboard's weekly sums (a date range over many members), so they are
        # read from the index alone; small clubs use ix_activities_athlete_start instead.
        Index("ix_activities_weekly", "start_time", "athlete_id", "sport", "private", "source",
              "indoor", "manual", "distance_m", "loss_m"),
        # The dashboard checks each recent finding's activity for `private`: from this index
        # alone instead of a wide row (metrics JSON) per finding (75 -> 15 ms at 1,000 members).
        Index("ix_activities_id_private", "id", "private"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("act"))
    athlete_id: Mapped[str] = mapped_column(ForeignKey("athletes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))  # strava|garmin|upload|strava_export|garmin_export
    provider_activity_id: Mapped[str | None] = mapped_column(String(64))
    raw_file_id: Mapped[str | None] = mapped_column(ForeignKey("raw_files.id", ondelete="SET NULL"))
    leg: Mapped[int] = mapped_column(Integer, default=0)  # multisport files: which leg
    # The file the run was read from ("export.zip!activities/1.fit"); None for runs fetched from
    # a provider's API (Strava streams, Garmin summaries). Kept here: raw files expire.
    file_name: Mapped[str | None] = mapped_column(String(500))
    name: Mapped[str | None] = mapped_column(String(300))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    sport: Mapped[str | None] = mapped_column(String(40))
    sub_sport: Mapped[str | None] = mapped_column(String(40))
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    # Elevation loss copied out of `metrics`, so weekly descent sums are plain SQL aggregates.
    loss_m: Mapped[float | None] = mapped_column(Float)
    moving_time_s: Mapped[float] = mapped_column(Float, default=0.0)
    # Knee-equivalent km (workers/analysis/kneeload.py), set by the analysis: it depends on the
    # runner's easy pace, so it is not known when the run is stored. Old runs are read from here.
    knee_load_km: Mapped[float | None] = mapped_column(Float)
    indoor: Mapped[bool] = mapped_column(Boolean, default=False)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gear_id: Mapped[str | None] = mapped_column(String(64))
    # pending -> parsed -> analyzed; failed keeps the reason in `error`
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(String(500))
    metrics: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
