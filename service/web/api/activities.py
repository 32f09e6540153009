"""Activities of one athlete: upload files/archives, list, read one."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import select

from service.domain import activities
from service.errors import InvalidInput, NotFound, ValidationFailed
from service.infra import memory, transient
from service.models import Activity
from service.web.api.params import int_arg
from service.web.auth import require_athlete
from service.web.bodies import read_limited

bp = Blueprint("activities", __name__, url_prefix="/v1/athletes/<athlete_id>/activities")
MAX_FILES = 100


@bp.post("")
def upload(athlete_id: str):
    """FIT, GPX, .gz or zip archives, as multipart files or a raw body → 202 with ids and skips."""
    require_athlete(athlete_id)
    files = _incoming_files()
    runtime = current_app.extensions["kneeguard"]

    def store() -> activities.IngestResult:
        result = activities.IngestResult()
        with runtime.db.session() as s:
            for name, data in files:
                result.extend(activities.ingest_one(s, athlete_id, name, data))
        return result

    # A lock timeout or SQLite's busy snapshot (two uploads at once) passes on retry; the retry
    # then finds the other upload's bytes and answers "duplicate".
    try:
        result = transient.retrying(store, f"upload:{athlete_id}")
    finally:
        files.clear()
        memory.trim()  # the body and the parse are freed: give the pages back (infra/memory.py)
    activities.enqueue_analysis(runtime, result)
    if not result.created and not result.duplicates:
        raise ValidationFailed("No activity could be read from the upload.",
                               code="invalid_file", details=result.skipped)
    return result.as_dict(), 202


@bp.get("")
def list_activities(athlete_id: str):
    require_athlete(athlete_id)
    limit = int_arg("limit", 50, 1, 500)
    runtime = current_app.extensions["kneeguard"]
    with runtime.db.session() as s:
        rows = s.scalars(select(Activity).where(Activity.athlete_id == athlete_id)
                         .order_by(Activity.start_time.desc()).limit(limit)).all()
        return {"activities": [activities.summary(a) for a in rows]}


@bp.get("/<activity_id>")
def get_activity(athlete_id: str, activity_id: str):
    require_athlete(athlete_id)
    runtime = current_app.extensions["kneeguard"]
    with runtime.db.session() as s:
        a = s.scalar(select(Activity).where(Activity.id == activity_id,
                                            Activity.athlete_id == athlete_id))
        if a is None:
            raise NotFound("Activity not found.")
        return dict(activities.summary(a), descent=activities.descent(a.metrics),
                    metrics=a.metrics, error=a.error)


def _incoming_files() -> list[tuple[str, bytes]]:
    if request.mimetype == "multipart/form-data":
        files = [(f.filename or field, f.read()) for field in request.files
                 for f in request.files.getlist(field)]
        if not files:
            raise InvalidInput("The multipart body has no file parts.")
        if len(files) > MAX_FILES:
            raise InvalidInput(f"At most {MAX_FILES} files per upload; send an archive instead.")
        return files
    data = read_limited(current_app.config["MAX_CONTENT_LENGTH"])
    if not data:
        raise InvalidInput("The request body is empty: send a FIT, GPX, .gz or zip file.")
    name = request.args.get("filename") or _disposition_name() or "upload"
    return [(name, data)]


def _disposition_name() -> str | None:
    header = request.headers.get("Content-Disposition", "")
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip('"')
    return None
