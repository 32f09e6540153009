"""Delete my data: a runner's account and everything derived from it, at once.

Provider connections are disconnected first (best effort upstream: Strava deauthorisation, Garmin
deregistration), then the athlete row goes and the database cascades to activities, raw files,
findings, deliveries, endpoints and club memberships.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from service.models import Athlete, Connection, OAuthState
from service.runtime import Runtime

log = logging.getLogger(__name__)


def delete_athlete(rt: Runtime, athlete_id: str) -> dict:
    with rt.db.session() as s:
        providers = set(s.scalars(select(Connection.provider).where(
            Connection.athlete_id == athlete_id)).all())
    upstream = {name: _disconnect(rt, name, athlete_id) for name in sorted(providers)}
    with rt.db.session() as s:
        s.execute(delete(OAuthState).where(OAuthState.athlete_id == athlete_id))
        deleted = s.execute(delete(Athlete).where(Athlete.id == athlete_id)).rowcount
    return {"deleted": bool(deleted), "athlete_id": athlete_id, "providers": upstream}


def _disconnect(rt: Runtime, provider: str, athlete_id: str) -> str:
    try:
        if provider == "strava" and rt.settings.strava_enabled:
            from service import strava_service

            strava_service.disconnect(rt, athlete_id)
            return "disconnected"
        if provider == "garmin" and rt.settings.garmin_enabled:
            from service import garmin_service

            garmin_service.disconnect(rt, athlete_id)
            return "disconnected"
    except Exception as exc:  # the local data goes whatever the provider answers
        log.warning("disconnect before deletion failed",
                    extra={"provider": provider, "error": type(exc).__name__})
        return "upstream_failed"
    return "local_only"
