"""A runner's account: delete everything (the "delete my data" button calls this)."""

from __future__ import annotations

from flask import Blueprint, current_app

from service.domain import erasure
from service.web import auth
from service.web.auth import require_athlete

bp = Blueprint("account", __name__, url_prefix="/v1")


@bp.delete("/athletes/<athlete_id>")
def delete_athlete(athlete_id: str):
    p = require_athlete(athlete_id)
    result = erasure.delete_athlete(current_app.extensions["kneeguard"], athlete_id,
                                    current_app.extensions["kneeguard.providers"])
    if p.via == "session":
        auth.logout()
    return result
