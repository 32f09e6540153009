"""Strava: the connect flow, the disconnect API and the push-subscription receiver.

The receiver only validates, inserts one inbound-event row (dedupe key unique: a repeat adds
nothing), commits, enqueues and answers 200 — no Strava call, no parsing: Strava gives 2 s and
retries anything that is not a 200 (up to three attempts). Events are unsigned, so they are hints:
the job re-fetches everything with the owner's token and confirms a delete or deauthorization with
Strava before destroying anything. Events for athletes we do not know (or for another
subscription) are acknowledged and dropped.

# Reference: ../shared/reference/apis.md §2 (webhooks), §1 (OAuth)
# Reference: ../shared/reference/reliability.md §4
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Literal, cast

from flask import Blueprint, current_app, redirect, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.errors import Forbidden, InvalidInput, NotFound
from service.infra import jobs
from service.infra.runtime import Runtime
from service.integrations.strava import connection as svc
from service.models import Connection, InboundEvent, new_id, utcnow
from service.web import integrator_link
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

bp = Blueprint("strava", __name__)
MAX_ID = 2**63 - 1


class StravaEvent(BaseModel):
    """One push event (apis.md §2). Strava sends integers for ids and times; strings are refused
    so a forged body cannot smuggle anything past the dedupe key."""

    model_config = ConfigDict(extra="ignore", strict=True)
    object_type: Literal["activity", "athlete"]
    object_id: int = Field(ge=1, le=MAX_ID)
    aspect_type: Literal["create", "update", "delete"]
    owner_id: int = Field(ge=1, le=MAX_ID)
    subscription_id: int = Field(ge=0, le=MAX_ID)
    event_time: int = Field(ge=0, le=MAX_ID)
    updates: dict[str, str | bool | int | float | None] = Field(default_factory=dict)

    @field_validator("updates")
    @classmethod
    def _small(cls, v: dict) -> dict:
        if len(v) > 20 or any(len(k) > 40 or len(str(x)) > 1000 for k, x in v.items()):
            raise ValueError("updates too large")
        return v

    def kind(self) -> str | None:
        if self.object_type == "activity":
            return f"activity.{self.aspect_type}"
        if str(self.updates.get("authorized", "")).lower() == "false":
            return "athlete.deauthorize"
        return None  # other athlete updates carry nothing we use

    def dedupe_key(self) -> str:
        digest = hashlib.sha1(json.dumps(self.updates, sort_keys=True).encode()).hexdigest()[:16]
        return (f"{svc.event_prefix(self.owner_id)}{self.object_type}:{self.object_id}:"
                f"{self.aspect_type}:{self.event_time}:{digest}")


def _rt() -> Runtime:
    return current_app.extensions["kneeguard"]


def _require_enabled(rt: Runtime) -> None:
    if not rt.settings.strava_enabled:
        raise NotFound("Strava is not configured on this server.", code="strava_disabled")


# ---- connect / disconnect ------------------------------------------------------------------------


@bp.get("/connect/strava")
def connect():
    """302 to Strava's consent page: sign up or in when anonymous, link when signed in.
    `?note=1` opts into the description note (only then is activity:write asked for; the runner
    may still untick it); `?next=/path` is where to land afterwards (e.g. an invite)."""
    rt = _rt()
    _require_enabled(rt)
    note = request.args.get("note", "0") in ("1", "true", "yes")
    athlete_id = connecting_runner()
    integrator_link.remember()  # ?integrator=…&ref=… (signed): the integrator's user
    return redirect(svc.start_connect(rt, athlete_id, note, browser=browser_binding(),
                                      return_to=return_path()), 302)


@bp.get(svc.CALLBACK_PATH)
def callback():
    rt = _rt()
    _require_enabled(rt)
    a = request.args
    if a.get("error"):
        from service.integrations import oauth

        with rt.db.session() as s:  # burn the state: a refused consent cannot be replayed
            oauth.consume_state(s, rt.box, svc.PROVIDER, a.get("state"), current_binding())
        raise InvalidInput("The Strava connection was not authorised.", code="consent_denied",
                           details={"error": a.get("error", "")[:100]})
    done = svc.finish_connect(rt, a.get("state"), a.get("code"), a.get("scope"),
                              current_binding())
    pending = integrator_link.take()
    login_runner(done.athlete_id)  # connecting once is how a runner signs in on this browser
    chosen = integrator_link.claim(pending, done.athlete_id)
    if wants_html():
        return redirect(done.return_to or chosen
                        or landing(None, svc.PROVIDER, done.created), 303)
    return {"connected": True, "provider": svc.PROVIDER, "athlete_id": done.athlete_id,
            "connection_id": done.connection_id, "scopes": done.scopes, "note": done.note,
            "created": done.created}


@bp.post("/v1/athletes/<athlete_id>/connections/strava/disconnect")
def disconnect(athlete_id: str):
    require_athlete(athlete_id)
    rt = _rt()
    _require_enabled(rt)
    return svc.disconnect(rt, athlete_id)


# ---- push subscription receiver ------------------------------------------------------------------


@bp.get(svc.WEBHOOK_PATH)
def handshake():
    """Subscription validation: echo hub.challenge as JSON when the verify token matches."""
    rt = _rt()
    expected = rt.settings.strava_verify_token or ""
    given = request.args.get("hub.verify_token", "")
    challenge = request.args.get("hub.challenge", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("The verify token does not match.", code="invalid_verify_token")
    if not challenge or len(challenge) > 200 or request.args.get("hub.mode") != "subscribe":
        raise InvalidInput("Expected hub.mode=subscribe and a hub.challenge.")
    return {"hub.challenge": challenge}


@bp.post(svc.WEBHOOK_PATH)
def receive():
    rt = _rt()
    _require_enabled(rt)
    # Capped before this view runs (service.web.bodies.ROUTE_LIMITS: max_webhook_bytes): a
    # declared oversize body is refused unread, a chunked one read to at most the cap + 1 byte.
    body = request.get_data(cache=True, parse_form_data=False)
    try:
        event = StravaEvent.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput("Not a Strava push event.", code="invalid_event",
                           details=exc.errors(include_url=False, include_input=False,
                                             include_context=False)) from None
    kind = event.kind()
    if kind is None or not _our_subscription(rt, event.subscription_id):
        return {"status": "ignored"}, 200
    event_id = _record(rt, event, kind)
    if event_id is None:
        return {"status": "ignored"}, 200
    jobs.process_event(rt, event_id)
    return {"status": "accepted"}, 200


_subscription_cache: list = [None, 0.0, None]  # [runtime, fetched at, subscription id or None]
SUBSCRIPTION_CACHE_S = 10.0


def _our_subscription(rt: Runtime, subscription_id: int) -> bool:
    """The id configured (STRAVA_SUBSCRIPTION_ID) or stored by `kneeguard strava subscribe|list`
    in Redis; with neither known every id passes, and the jobs still confirm each destructive
    event with Strava. The Redis value is cached a few seconds per process (hot path)."""
    if rt.settings.strava_subscription_id is not None:
        return rt.settings.strava_subscription_id == subscription_id
    now = time.monotonic()
    cache = _subscription_cache
    if cache[0] is not rt or now - cache[1] > SUBSCRIPTION_CACHE_S:
        try:
            raw = rt.queue.redis.get(svc.SUBSCRIPTION_KEY)
        except Exception:
            raw = None
        cache[:] = [rt, now, raw.decode() if isinstance(raw, bytes) else raw]
    return cache[2] is None or cache[2] == str(subscription_id)


def _record(rt: Runtime, event: StravaEvent, kind: str) -> str | None:
    """One statement, one round trip: INSERT … SELECT … WHERE the owner is connected, ON CONFLICT
    (dedupe key) revive a dropped row only, RETURNING the id. None for a repeat of a live or
    processed event, or an unknown athlete.

    The receiver's tail is the product's intake (issue 28), so this path avoids per-request round
    trips: the statement is atomic on its own and runs in autocommit (no BEGIN and COMMIT trips),
    and on PostgreSQL it is a prepared statement (parsed and planned once per connection; the
    engine prepares nothing else, see infra/db.py)."""
    now = utcnow()
    columns = {"id": new_id("evt"), "source": svc.PROVIDER, "kind": kind,
               "dedupe_key": event.dedupe_key(), "payload": event.model_dump(),
               "status": "received", "attempts": 0, "received_at": now, "next_attempt_at": now}
    with rt.db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        stmt = _insert_event(conn.dialect.name)
        params = {**columns, "owner": str(event.owner_id), "now": now}
        if conn.dialect.name != "postgresql":
            return conn.execute(stmt, params).scalar()
        driver: Any = conn.connection.driver_connection  # psycopg.Connection
        driver.prepare_threshold = 0  # this statement only: prepared at its first run
        try:
            return conn.execute(stmt, params).scalar()
        finally:
            driver.prepare_threshold = None


_INSERTS: dict[str, Any] = {}  # dialect name -> the statement


def _insert_event(dialect: str) -> Any:
    """The statement, built once per dialect with bind parameters (building it per request cost
    more CPU than running it). RETURNING, not rowcount: drivers disagree on rowcount for ON
    CONFLICT. A repeat of a key whose event was dropped (e.g. a forged delete that Strava did not
    confirm, sent ahead with the real event's time) is checked again, never swallowed."""
    if dialect not in _INSERTS:
        table = cast(Table, InboundEvent.__table__)  # typed as a FromClause; it is a Table
        names = ["id", "source", "kind", "dedupe_key", "payload", "status", "attempts",
                 "received_at", "next_attempt_at"]
        values = [bindparam(k, type_=table.c[k].type).label(k) for k in names]
        source = select(*values).where(exists().where(
            Connection.provider == svc.PROVIDER,
            Connection.provider_user_id == bindparam("owner")))
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(table).from_select(names, source)
        _INSERTS[dialect] = (stmt.on_conflict_do_update(
            index_elements=["dedupe_key"], where=table.c.status == "dropped",
            set_={"status": "received", "attempts": 0, "last_error": None,
                  "next_attempt_at": bindparam("now", type_=table.c.next_attempt_at.type),
                  "processed_at": None})
            .returning(table.c.id))
    return _INSERTS[dialect]
