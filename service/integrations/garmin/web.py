"""Garmin: the connect flow, the disconnect API and the notification receivers.

Receivers only validate, insert one inbound-event row per item (the dedupe key is unique, so a
repeated notification adds nothing), commit, enqueue and answer 200: no Garmin call, no parsing.
Garmin's ping times out after 30 s and retries failures with back-off.

# Reference: ../shared/reference/apis.md §7 (Delivery models, activityFiles, Users)
# Reference: ../shared/reference/reliability.md §4 (ack fast, client id, unsigned bodies)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from flask import Blueprint, current_app, redirect, request
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.errors import Forbidden, InvalidInput, NotFound
from service.infra import jobs
from service.infra.runtime import Runtime
from service.integrations import oauth
from service.integrations.garmin import connection as garmin_service
from service.integrations.garmin import notifications as gn
from service.integrations.garmin import status as garmin_status
from service.models import Connection, InboundEvent, new_id, utcnow
from service.web.auth import (
    browser_binding,
    connecting_runner,
    current_binding,
    landing,
    login_runner,
    require_athlete,
    return_path,
    wants_html,
)
from service.web.bodies import read_limited

bp = Blueprint("garmin", __name__)
# apis.md §9: a production key requires accepting notification payloads of at least 10 MB.
MAX_NOTIFICATION_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Incoming:
    kind: str  # activity_file | activity_summary | activity_ping | deregistration | permissions
    user_id: str
    key: str  # dedupe key (deregistrations get the connection's state appended when recorded)
    payload: dict = field(default_factory=dict)


def _rt() -> Runtime:
    return current_app.extensions["kneeguard"]


def _require_enabled(rt: Runtime) -> None:
    if not rt.settings.garmin_enabled:
        raise NotFound("Garmin is not configured on this server.", code="garmin_disabled")


# -- connect / disconnect ----------------------------------------------------------------------


@bp.get("/connect/garmin")
def connect():
    """302 to Garmin's consent screen: sign up or in when anonymous, link when signed in
    (session or `Authorization: Bearer`). `?next=/path` is where to land afterwards."""
    rt = _rt()
    _require_enabled(rt)
    athlete_id = connecting_runner()
    return redirect(garmin_service.start_connect(rt, athlete_id, browser=browser_binding(),
                                                 return_to=return_path()), 302)


@bp.get(garmin_service.CALLBACK_PATH)
def callback():
    rt = _rt()
    _require_enabled(rt)
    if request.args.get("error"):
        with rt.db.session() as s:  # burn the state: a refused consent cannot be replayed
            oauth.consume_state(s, rt.box, "garmin", request.args.get("state"),
                                current_binding())
        raise InvalidInput("The Garmin connection was not authorised.", code="consent_denied",
                           details={"error": request.args.get("error")[:100]})
    done = garmin_service.finish_connect(rt, request.args.get("code"), request.args.get("state"),
                                         current_binding())
    if done.status == "active":
        garmin_service.enqueue_backfill(rt, done.connection_id)
    login_runner(done.athlete_id)  # connecting once is how a runner signs in on this browser
    if wants_html():
        return redirect(landing(done.return_to, "garmin", done.created), 303)
    return {"connected": True, "provider": "garmin", "athlete_id": done.athlete_id,
            "created": done.created,
            "connection_id": done.connection_id, "status": done.status,
            "backfill_days": garmin_service.backfill_days(rt.settings)
            if done.status == "active" else 0}


@bp.post("/v1/athletes/<athlete_id>/connections/garmin/disconnect")
def disconnect(athlete_id: str):
    require_athlete(athlete_id)
    rt = _rt()
    _require_enabled(rt)
    return garmin_service.disconnect(rt, athlete_id)


@bp.get("/v1/athletes/<athlete_id>/connections/garmin")
def connection_status(athlete_id: str):
    """Status, the reason when revoked or paused, and what history was (not) recovered."""
    require_athlete(athlete_id)
    rt = _rt()
    _require_enabled(rt)
    with rt.db.session() as s:
        conn = garmin_service.athlete_connection(s, athlete_id)
        if conn is None:
            raise NotFound("No Garmin connection.", code="not_connected")
        return garmin_status.view(s, conn)


# -- receivers ---------------------------------------------------------------------------------


@bp.post("/webhooks/garmin/activities")
def activities_receiver():
    return _receive(_activities)


@bp.post("/webhooks/garmin/activity-files")
def activity_files_receiver():
    return _receive(lambda body: [
        Incoming("activity_file", n.user_id, _key(n.dedupe_key), _dump(n))
        for n in gn.parse_activity_files(body)])


@bp.post("/webhooks/garmin/deregistrations")
def deregistrations_receiver():
    return _receive(lambda body: [
        Incoming("deregistration", d.user_id, _key("garmin", "deregistrations", d.user_id),
                 _dump(d)) for d in gn.parse_deregistrations(body)])


@bp.post("/webhooks/garmin/permissions")
def permissions_receiver():
    return _receive(lambda body: [
        Incoming("permissions", p.user_id,
                 _key("garmin", "userPermissionsChange", p.user_id,
                      p.summary_id or _digest(_dump(p))), _dump(p))
        for p in gn.parse_permission_changes(body)])


def _activities(body: bytes) -> list[Incoming]:
    parsed = gn.parse_activities(body)
    items = [Incoming("activity_ping", p.user_id,
                      _key("garmin", "activities-ping", p.user_id, _digest(p.callback_url)),
                      _dump(p)) for p in parsed.pings]
    for summary in parsed.summaries:
        if summary.user_id is None:
            raise gn.NotificationError(f"summary {summary.summary_id!r} has no userId")
        payload = _dump(summary)
        # The content hash lets a manually *updated* activity through as a new event, while an
        # identical repeat is still one row.
        key = _key("garmin", "activities", summary.user_id, summary.summary_id, _digest(payload))
        items.append(Incoming("activity_summary", summary.user_id, key, payload))
    return items


def _receive(parse: Callable[[bytes], list[Incoming]]):
    rt = _rt()
    _require_enabled(rt)
    if not gn.is_from_our_app(request.headers.get("garmin-client-id"),
                              rt.settings.garmin_client_id or ""):
        raise Forbidden("Unknown garmin-client-id.", code="unknown_client")
    body = read_limited(MAX_NOTIFICATION_BYTES)
    try:
        items = parse(body)
    except gn.NotificationError as exc:
        raise InvalidInput(f"Not a Garmin notification: {exc}", code="invalid_notification") \
            from exc
    with rt.db.session() as s:
        new = record(s, items)
    for event_id in new:
        jobs.process_event(rt, event_id)
    return {"received": len(items), "new": len(new)}, 200


def record(s: Session, items: list[Incoming]) -> list[str]:
    """Insert one row per item (the dedupe key is unique); returns the ids of rows to process.
    Items for unknown users are stored as `dropped` and acknowledged like the rest. Whether an
    activity is kept is decided by the job when it runs, from the connection's state then: a
    ping that arrives just before a permission change is judged after it."""
    users = {i.user_id for i in items}
    conns = {c.provider_user_id: c for c in s.scalars(select(Connection).where(
        Connection.provider == "garmin", Connection.provider_user_id.in_(users)))} if users else {}
    queued = []
    for item in items:
        conn = conns.get(item.user_id)
        reason = None if conn is not None else "unknown garmin user"
        key = item.key
        if item.kind == "deregistration":
            # Deregistration has no id of its own: one per connection state, so a reconnect and
            # a later deregistration is a new event, while a repeat of the same one is not.
            key = _key(key, conn.id if conn else "unknown",
                       str(int(conn.updated_at.timestamp())) if conn else "")
        event_id = _insert(s, item.kind, key, item.payload, reason)
        if event_id and reason is None:
            queued.append(event_id)
    return queued


def _insert(s: Session, kind: str, key: str, payload: dict, drop: str | None) -> str | None:
    """New row, or None for a repeat. A `dropped` row does not hold its key: the same
    notification arriving again (Garmin's retry, a backfill after a reconnect) replaces it, so a
    run we dropped can never be swallowed by its own dedupe row."""
    now = utcnow()
    values = dict(id=new_id("evt"), source="garmin", kind=kind, dedupe_key=key, payload=payload,
                  status="dropped" if drop else "received", attempts=0, last_error=drop,
                  received_at=now, next_attempt_at=now, processed_at=now if drop else None)
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, InboundEvent.__table__)  # typed as a FromClause; it is a Table
    # RETURNING, not rowcount: psycopg reports -1 for this statement. A conflict returns no row,
    # except that a processable repeat of a dropped row is taken again (Garmin's retry of a run we
    # dropped, history re-sent after a reconnect, or the real deregistration after a forged one
    # Garmin did not confirm): the dedupe row must never swallow it.
    stmt = insert(table).values(**values)
    if drop:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:
        revive = {k: stmt.excluded[k] for k in ("payload", "status", "attempts", "last_error",
                                                  "received_at", "next_attempt_at", "processed_at")}
        stmt = stmt.on_conflict_do_update(index_elements=["dedupe_key"], set_=revive,
                                          where=table.c.status == "dropped")
    return s.execute(stmt.returning(table.c.id)).scalar_one_or_none()


def _dump(model) -> dict:
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("userAccessToken", None)  # legacy OAuth1 credential: never stored
    return data


def _digest(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _key(*parts: str) -> str:
    key = ":".join(parts)
    return key if len(key) <= 200 else "garmin:sha256:" + hashlib.sha256(key.encode()).hexdigest()
