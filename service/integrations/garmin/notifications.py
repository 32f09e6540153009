"""Parsers for the notifications Garmin POSTs to our receivers, and the summary → RemoteActivity
mapping. Pure: no network, no Flask, no database. The receiver stores what these return; a job does
the downloads later (Garmin's ping times out after 30 s).

# Reference: ../shared/reference/apis.md §7 "Delivery models", "activityFiles", "Users"
# Reference: ../shared/reference/reliability.md §4 (Garmin inbound pitfalls)
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from service.integrations.base import RemoteActivity

ACTIVITY_EXPORT = "ACTIVITY_EXPORT"



class NotificationError(ValueError):
    """The body is not a notification of the expected kind; the receiver answers 400."""


def is_from_our_app(client_id_header: str | None, client_id: str) -> bool:
    """Garmin signs nothing; its notifications carry only a `garmin-client-id` header. Checking it
    filters stray traffic, not forgery: the body stays a hint (callback origin check, re-fetch).
    # Reference: reliability.md §4 "verify the client id and allowlist the callbackURL host"
    """
    if not client_id_header or not client_id:
        return False
    return hmac.compare_digest(client_id_header.encode(), client_id.encode())


_Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
_EpochSeconds = Annotated[int, Field(ge=0, le=4_102_444_800)]  # 1970..2100: fromtimestamp-safe


class _Model(BaseModel):
    # Garmin adds fields over time and older payloads carry userAccessToken: ignore what we do
    # not model instead of rejecting a notification Garmin would then retry forever.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True,
                              extra="ignore", coerce_numbers_to_str=True)


class SummaryPing(_Model):
    """An `activities` ping: no data inline, only a pull URL (by upload time)."""

    user_id: _Id
    callback_url: str = Field(alias="callbackURL", max_length=4096)


class ActivitySummary(_Model):
    """An activity summary (push body item, pull response item, or activityDetails' summary)."""

    model_config = ConfigDict(extra="allow")  # keep every field for RemoteActivity.raw

    user_id: _Id | None = None
    summary_id: _Id
    activity_id: int | None = None
    activity_name: str | None = None
    activity_type: str | None = None
    start_time_in_seconds: _EpochSeconds
    # The watch's display-time offset (local = start + offset); not a time zone (§7 fields).
    # Absent means unknown (the athlete's setting applies), not UTC.
    start_time_offset_in_seconds: int | None = None
    duration_in_seconds: float | None = None
    distance_in_meters: float | None = None
    total_elevation_gain_in_meters: float | None = None
    total_elevation_loss_in_meters: float | None = None
    starting_latitude_in_degree: float | None = None
    device_name: str | None = None
    manual: bool = False
    is_web_upload: bool = False
    is_parent: bool = False
    parent_summary_id: str | None = None

    @property
    def provider_id(self) -> str:
        return _provider_id(self.activity_id, self.summary_id)

    @property
    def start_time(self) -> datetime:
        return datetime.fromtimestamp(self.start_time_in_seconds, UTC)


class ActivityFileNotice(_Model):
    """One `activityFiles` ping item: a FIT/TCX/GPX file to fetch once from `callback_url`."""

    user_id: _Id
    summary_id: _Id
    file_type: str = Field(max_length=16)
    callback_url: str = Field(alias="callbackURL", max_length=4096)
    start_time_in_seconds: _EpochSeconds
    activity_id: int | None = None
    activity_type: str | None = None
    activity_name: str | None = None
    device_name: str | None = None
    manual: bool = False

    @property
    def provider_id(self) -> str:
        """Same key as the matching ActivitySummary.provider_id (the file's summaryId ends in
        '-file', the summary's does not)."""
        return _provider_id(self.activity_id, self.summary_id)

    @property
    def dedupe_key(self) -> str:
        return f"garmin:activityFiles:{self.user_id}:{self.summary_id}"


class Deregistration(_Model):
    user_id: _Id


class PermissionChange(_Model):
    user_id: _Id
    summary_id: str | None = None
    permissions: frozenset[str] = frozenset()
    change_time_in_seconds: _EpochSeconds | None = None

    @property
    def allows_activity_export(self) -> bool:
        return ACTIVITY_EXPORT in self.permissions


_M = TypeVar("_M", bound=_Model)


@dataclass(frozen=True, slots=True)
class ActivitiesNotification:
    pings: list[SummaryPing]
    summaries: list[ActivitySummary]


def _provider_id(activity_id: int | None, summary_id: str) -> str:
    if activity_id is not None:
        return str(activity_id)
    for suffix in ("-file", "-detail"):
        summary_id = summary_id.removesuffix(suffix)
    return summary_id


def _items(body: bytes | str | Mapping[str, Any], *keys: str) -> list[Any]:
    """The list under the first of `keys` present in a JSON object body."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except RecursionError:  # nested thousands deep: a 400, not a crash
            raise NotificationError("body nests too deeply") from None
        except ValueError as exc:
            raise NotificationError("body is not JSON") from exc
    if not isinstance(body, Mapping):
        raise NotificationError("body is not a JSON object")
    for key in keys:
        if key in body:
            if not isinstance(body[key], list):
                raise NotificationError(f"{key!r} is not a list")
            return body[key]
    raise NotificationError(f"expected one of {', '.join(keys)}")


def _validate(model: type[_M], items: list[Any]) -> list[_M]:
    try:
        return TypeAdapter(list[model]).validate_python(items)  # type: ignore[valid-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NotificationError(f"invalid item at {where}: {first['msg']}") from exc


def parse_activities(body: bytes | str | Mapping[str, Any]) -> ActivitiesNotification:
    """`activities` / `manuallyUpdatedActivities`: pings (callbackURL only) or pushed summaries."""
    items = _items(body, "activities", "manuallyUpdatedActivities")
    pushed = [i for i in items if isinstance(i, Mapping) and "summaryId" in i]
    pings = [i for i in items if not (isinstance(i, Mapping) and "summaryId" in i)]
    return ActivitiesNotification(_validate(SummaryPing, pings),
                                  _validate(ActivitySummary, pushed))


def parse_activity_details(body: bytes | str | Mapping[str, Any]) -> list[ActivitySummary]:
    """`activityDetails` push: only the nested summary is kept (samples are not used here)."""
    merged = []
    for item in _items(body, "activityDetails"):
        if not isinstance(item, Mapping) or not isinstance(item.get("summary"), Mapping):
            raise NotificationError("activityDetails item without a summary object")
        top = {k: item[k] for k in ("userId", "summaryId", "activityId") if k in item}
        merged.append({**item["summary"], **top})
    return _validate(ActivitySummary, merged)


def parse_activity_files(body: bytes | str | Mapping[str, Any]) -> list[ActivityFileNotice]:
    return _validate(ActivityFileNotice, _items(body, "activityFiles"))


def parse_deregistrations(body: bytes | str | Mapping[str, Any]) -> list[Deregistration]:
    return _validate(Deregistration, _items(body, "deregistrations"))


def parse_permission_changes(body: bytes | str | Mapping[str, Any]) -> list[PermissionChange]:
    return _validate(PermissionChange, _items(body, "userPermissionsChange"))


# Reference: GARMIN-ACT Appendix A (running types); FIT sub_sport names where one exists.
_RUNNING_SUB_SPORTS: dict[str, str | None] = {
    "RUNNING": None, "STREET_RUNNING": "street", "TRACK_RUNNING": "track",
    "TRAIL_RUNNING": "trail", "TREADMILL_RUNNING": "treadmill", "INDOOR_RUNNING": "indoor",
    "VIRTUAL_RUN": "virtual", "ULTRA_RUN": "ultra", "OBSTACLE_RUN": "obstacle",
}
_NO_GPS_SUB_SPORTS = {"treadmill", "indoor", "virtual"}
_SPORT_WORDS = (("RUN", "running"), ("CYCL", "cycling"), ("BIK", "cycling"),
                ("WALK", "walking"), ("HIK", "hiking"), ("SWIM", "swimming"))


def garmin_sport(activity_type: str | None) -> tuple[str | None, str | None]:
    """(sport, sub_sport) for a Garmin activityType, normalised like the FIT parser's."""
    if not activity_type:
        return None, None
    kind = activity_type.upper()
    if kind in _RUNNING_SUB_SPORTS:
        return "running", _RUNNING_SUB_SPORTS[kind]
    for word, sport in _SPORT_WORDS:
        if word in kind:
            return sport, None
    return kind.lower(), None


def summary_to_remote_activity(summary: ActivitySummary) -> RemoteActivity:
    sport, sub_sport = garmin_sport(summary.activity_type)
    no_gps = summary.manual or sub_sport in _NO_GPS_SUB_SPORTS
    return RemoteActivity(
        provider_id=summary.provider_id,
        start_time=summary.start_time,
        sport=sport,
        sub_sport=sub_sport,
        name=summary.activity_name,
        distance_m=summary.distance_in_meters,
        moving_time_s=summary.duration_in_seconds,
        elevation_gain_m=summary.total_elevation_gain_in_meters,
        elevation_loss_m=summary.total_elevation_loss_in_meters,
        manual=summary.manual,
        has_gps=not no_gps and summary.starting_latitude_in_degree is not None,
        raw=summary.model_dump(by_alias=True, exclude_unset=True),
    )
