"""Pydantic models for the Strava responses we read, and their mapping onto base.RemoteActivity.

Strict enough to catch a wrong shape (ids are ints, dates are dates, required fields present) while
ignoring the many fields we do not use: Strava adds fields regularly and that must not break us.

Reference: https://developers.strava.com/docs/reference/ (models SummaryActivity, DetailedActivity,
StreamSet, SummaryAthlete); stravalib's `strava_model` is generated from the same schema.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.integrations.base import RemoteActivity

STREAM_KEYS = ("time", "distance", "latlng", "altitude", "velocity_smooth", "heartrate", "cadence",
               "moving", "grade_smooth")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TokenResponse(_Model):
    """POST /oauth/token. `athlete` only on the authorization_code grant."""

    token_type: str = "Bearer"
    access_token: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    expires_at: int
    expires_in: int | None = None
    athlete: Athlete | None = None
    scope: str | None = None  # not documented in the response; used if Strava ever sends it


class Athlete(_Model):
    id: int
    firstname: str | None = None
    lastname: str | None = None
    city: str | None = None
    country: str | None = None
    sex: str | None = None
    premium: bool | None = None
    summit: bool | None = None
    measurement_preference: str | None = None


class _PolylineMap(_Model):
    id: str | None = None
    polyline: str | None = None
    summary_polyline: str | None = None


class ActivityModel(_Model):
    """SummaryActivity, plus the DetailedActivity fields we read (`description`)."""

    id: int
    start_date: datetime
    name: str | None = None
    sport_type: str | None = None
    type: str | None = None  # deprecated by Strava, still sent; fallback when sport_type is absent
    distance: float | None = None
    moving_time: int | None = None
    elapsed_time: int | None = None
    total_elevation_gain: float | None = None
    start_latlng: list[float] | None = None
    trainer: bool = False
    manual: bool = False
    private: bool = False
    gear_id: str | None = None
    map: _PolylineMap | None = None
    description: str | None = None


class StreamModel(_Model):
    data: list[Any]
    series_type: str | None = None
    original_size: int | None = None
    resolution: str | None = None


class Subscription(_Model):
    id: int
    callback_url: str | None = None
    application_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SubscriptionCreated(_Model):
    id: int


TokenResponse.model_rebuild()

# sport_type -> (sport, sub_sport). Anything else becomes snake_case of sport_type (non-running
# sports are ignored by the rules anyway, the name only needs to be stable and readable).
_SPORTS: dict[str, tuple[str, str | None]] = {
    "Run": ("running", None),
    "TrailRun": ("running", "trail"),
    "VirtualRun": ("running", "virtual"),
    "Walk": ("walking", None),
    "Hike": ("hiking", None),
    "Ride": ("cycling", None),
    "MountainBikeRide": ("cycling", "mountain"),
    "GravelRide": ("cycling", "gravel"),
    "EBikeRide": ("cycling", "e_bike"),
    "EMountainBikeRide": ("cycling", "e_bike_mountain"),
    "VirtualRide": ("cycling", "virtual"),
    "Velomobile": ("cycling", "velomobile"),
    "Handcycle": ("cycling", "hand_cycling"),
    "Swim": ("swimming", None),
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def normalise_sport(sport_type: str | None, trainer: bool = False) -> tuple[str | None, str | None]:
    """Strava sport_type (or legacy type) -> our (sport, sub_sport).

    `trainer` means indoors: a Run on a trainer is a treadmill run, a Ride an indoor ride. Virtual
    stays virtual (Zwift runs are on a treadmill too, but "virtual" is the more specific fact)."""
    if not sport_type:
        return None, None
    sport, sub = _SPORTS.get(sport_type, (_snake(sport_type), None))
    if trainer and sub is None:
        sub = {"running": "treadmill", "cycling": "indoor_cycling"}.get(sport, "indoor")
    return sport, sub


def _has_gps(a: ActivityModel) -> bool:
    # Manual entries may carry a typed-in start location but never a route; trainer runs carry none.
    if a.manual or not a.start_latlng:
        return False
    if a.map is not None:
        return bool(a.map.summary_polyline or a.map.polyline)
    return True


def to_remote(raw: dict[str, Any]) -> RemoteActivity:
    """Validate one Summary/DetailedActivity JSON object and map it (pydantic.ValidationError)."""
    a = ActivityModel.model_validate(raw)
    sport, sub_sport = normalise_sport(a.sport_type or a.type, a.trainer)
    return RemoteActivity(
        provider_id=str(a.id),
        start_time=a.start_date.astimezone(UTC),
        sport=sport,
        sub_sport=sub_sport,
        name=a.name,
        distance_m=a.distance,
        moving_time_s=float(a.moving_time) if a.moving_time is not None else None,
        elevation_gain_m=a.total_elevation_gain,
        elevation_loss_m=None,  # Strava has no loss field: computed from the altitude stream
        manual=a.manual,
        private=a.private,
        has_gps=_has_gps(a),
        gear_id=a.gear_id,
        description=a.description,
        raw=raw,
    )
