"""Per-source retention and visibility (DESIGN §2). Operators change defaults in configuration.

Strava's API Policy (2026-06-01): cache at most 7 days, show findings only to that athlete, delete on
deauthorization, hide on privacy change. Garmin data and the user's own files are kept until the user
disconnects or deletes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

RETENTION_DAYS: dict[str, int | None] = {
    "strava": 7,
    "garmin": None,
    "upload": None,
    "strava_export": None,
    "garmin_export": None,
}
# Who may see a finding computed from a source, besides the athlete.
VISIBLE_TO: dict[str, frozenset[str]] = {
    "strava": frozenset(),
    "garmin": frozenset({"club", "integrator"}),
    "upload": frozenset({"club", "integrator"}),
    "strava_export": frozenset({"club", "integrator"}),
    "garmin_export": frozenset({"club", "integrator"}),
}
AUDIENCES = ("athlete", "club", "integrator")


def raw_expiry(source: str, now: datetime) -> datetime | None:
    days = RETENTION_DAYS.get(source)
    return now + timedelta(days=days) if days is not None else None


def derived_expiry(source: str, now: datetime) -> datetime | None:
    return raw_expiry(source, now)


def visible(sources: Iterable[str], audience: str) -> bool:
    """A finding is visible to an audience only if every source it rests on allows it."""
    if audience == "athlete":
        return True
    return all(audience in VISIBLE_TO.get(src, frozenset()) for src in sources)
