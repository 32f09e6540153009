"""The fake Garmin's records and constants, and Garmin-style summaries made from real FIT files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import Any

from service.infra.corpus import ACTIVITIES, SHARED_DATA

DATA_DIR = SHARED_DATA  # the shared corpus beside a checkout
FIT_DIR = ACTIVITIES / "fit"

SCOPE = "PARTNER_WRITE PARTNER_READ CONNECT_READ CONNECT_WRITE"
ALL_PERMISSIONS = frozenset({"ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT",
                             "COURSE_IMPORT", "MCT_EXPORT"})
DEFAULT_RECEIVER_PATHS = {
    "activities": "/webhooks/garmin/activities",
    "activityFiles": "/webhooks/garmin/activity-files",
    "deregistrations": "/webhooks/garmin/deregistrations",
    "userPermissionsChange": "/webhooks/garmin/permissions",
}
BACKFILL_MAX_S = 30 * 86400
PULL_MAX_S = 86400  # apis.md §7: summary pulls span at most 24 h of upload time


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    user_id: str | None = None  # whose bearer token was presented, when valid


@dataclass
class Delivery:
    kind: str
    url: str
    body: dict[str, Any]
    status: int | None
    error: str | None = None


@dataclass
class FakeUser:
    user_id: str
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    registered: bool = True
    consent_removed: bool = False  # removed in Garmin Connect (not by our DELETE)


@dataclass
class FakeActivity:
    user_id: str
    activity_id: int
    summary: dict[str, Any]
    fit_path: Path | None
    upload_time: int
    callback_id: str | None = None

    @property
    def start(self) -> int:
        return int(self.summary["startTimeInSeconds"])


@dataclass
class Callback:
    activity_id: int
    token: str
    downloaded: bool = False


@dataclass
class Failure:
    path: str
    status: int
    headers: dict[str, str]
    remaining: int


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@lru_cache(maxsize=64)
def fit_summary(path: Path) -> dict[str, Any]:
    """A Garmin-style activity summary derived from a FIT file's session (device totals)."""
    import fitparse  # only the sandbox needs it here; a whole file takes up to ~1 s, hence the cache

    fit = fitparse.FitFile(str(path))
    session = next(m.get_values() for m in fit.get_messages("session"))
    ident: dict[str, Any] = next((m.get_values() for m in fit.get_messages("file_id")), {})
    start = session["start_time"].replace(tzinfo=UTC)
    sport, sub = str(session.get("sport") or "generic"), str(session.get("sub_sport") or "")
    return {
        "activityType": _garmin_type(sport, sub),
        "startTimeInSeconds": int(start.timestamp()),
        "durationInSeconds": round(session.get("total_timer_time") or 0),
        "distanceInMeters": session.get("total_distance"),
        "totalElevationGainInMeters": session.get("total_ascent"),
        "totalElevationLossInMeters": session.get("total_descent"),
        "deviceName": f"{ident.get('manufacturer', 'garmin')} {ident.get('product', '')}".strip(),
    }


def _garmin_type(sport: str, sub_sport: str) -> str:
    if sport == "running":
        return {"trail": "TRAIL_RUNNING", "track": "TRACK_RUNNING", "treadmill":
                "TREADMILL_RUNNING", "indoor_running": "INDOOR_RUNNING"}.get(sub_sport, "RUNNING")
    return sport.upper()
