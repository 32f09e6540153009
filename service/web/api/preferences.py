"""A runner's notification preferences, and one-click unsubscribe links from emails."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, ConfigDict

from service.domain.deliveries import preferences, read_unsubscribe_token
from service.errors import NotFound
from service.models import Athlete
from service.web.api.endpoints import parse
from service.web.auth import require_athlete

bp = Blueprint("preferences", __name__)


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: bool | None = None
    strava_note: bool | None = None
    min_severity: Literal["info", "caution", "high"] | None = None
    integrators: bool | None = None  # share findings with third-party integrators' webhooks


@bp.get("/v1/athletes/<athlete_id>/preferences")
def get_preferences(athlete_id: str):
    require_athlete(athlete_id)
    with current_app.extensions["kneeguard"].db.session() as s:
        return preferences(s.get(Athlete, athlete_id))


@bp.put("/v1/athletes/<athlete_id>/preferences")
def put_preferences(athlete_id: str):
    require_athlete(athlete_id)
    body = parse(Preferences).model_dump(exclude_none=True)
    with current_app.extensions["kneeguard"].db.session() as s:
        athlete = s.get(Athlete, athlete_id)
        athlete.preferences = {**(athlete.preferences or {}), **body}
        if "strava_note" in body:
            athlete.note_writeback = body["strava_note"]
        return preferences(athlete)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET shows a confirmation form (mail scanners follow links); POST unsubscribes (RFC 8058)."""
    rt = current_app.extensions["kneeguard"]
    found = read_unsubscribe_token(rt.settings.secret_key, token)
    if found is None:
        raise NotFound("This unsubscribe link is not valid.")
    athlete_id, channel = found
    if request.method == "GET":
        return (f"<!doctype html><title>Unsubscribe</title><form method=post>"
                f"<p>Stop kneeguard {channel} warnings?</p><button>Unsubscribe</button></form>")
    with rt.db.session() as s:
        athlete = s.get(Athlete, athlete_id)
        if athlete is None:
            raise NotFound("This unsubscribe link is not valid.")
        athlete.preferences = {**(athlete.preferences or {}), channel: False}
    return {"unsubscribed": channel}
