"""A runner's knee load: GET /v1/athletes/<id>/load (daily and weekly, with the tolerance)."""

from __future__ import annotations

from flask import Blueprint, current_app

from service.domain import club_stats, knee_load
from service.web.api.params import int_arg
from service.web.auth import require_athlete

bp = Blueprint("load", __name__, url_prefix="/v1/athletes/<athlete_id>")


@bp.get("/load")
def get_load(athlete_id: str):
    require_athlete(athlete_id)
    weeks = int_arg("weeks", 12, 1, 104)
    runtime = current_app.extensions["kneeguard"]
    with runtime.db.session() as s:
        return knee_load.athlete_load(s, athlete_id, club_stats.today(), weeks,
                                      runtime.settings.thresholds)
