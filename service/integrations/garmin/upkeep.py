"""Garmin jobs that are not notification handlers: the history backfill and the refresh-token
renewal.

Backfill (GARMIN-ACT v1.2.3 §8): "The maximum date range (inclusive) for a single backfill
request is 30 days" and "Duplicate Backfill requests are rejected with HTTP 409 status (duplicate
requests – requests for already requested time period)". A 409 therefore means Garmin will not
send that period again: it is recorded as *refused*, never as done. Each connect fixes its own
range (to the second) and every range ever requested for the user is remembered on the
connection, so a reconnect never repeats an earlier request exactly; chunks Garmin accepted are
not asked again when the job is retried.

Daily upkeep (`daily_upkeep`, scheduled by the sweeper like the other periodic jobs) renews
refresh tokens and re-checks paused connections.

Refresh tokens (Garmin OAuth2 PKCE spec, token response: `"refresh_token_expires_in": 7775998`,
about 90 days; each refresh returns a new refresh token): a runner who records nothing for three
months must not lose the connection, so a daily job renews tokens that are within
`RENEW_AHEAD` of dying.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from service.infra import runtime as runtime_mod
from service.infra.redact import redact_error
from service.integrations import oauth
from service.integrations.base import AuthRevoked, ProviderError
from service.integrations.garmin import connection as gs
from service.integrations.garmin import status as gst
from service.integrations.garmin.client import backfill_chunks
from service.integrations.garmin.notifications import ACTIVITY_EXPORT
from service.integrations.garmin.responses import PermissionMissing
from service.models import Connection, utcnow

log = logging.getLogger(__name__)
BACKFILL_RETRIES = 6
RENEW_AHEAD = timedelta(days=14)  # a daily job gets 14 chances before the token dies
HISTORY_KEY = "backfill_requested"  # every range ever requested for this Garmin user
HISTORY_MAX = 200


# -- backfill ------------------------------------------------------------------------------------


def backfill(connection_id: str) -> None:
    """Job: ask Garmin to re-send this connect's history range in 30-day chunks. Results arrive
    later as ordinary notifications."""
    rt = runtime_mod.current()
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is None or conn.status != "active":
            return
        plan = _plan((conn.details or {}).get("backfill") or {}, rt.settings)
        history = [tuple(r) for r in (conn.details or {}).get(HISTORY_KEY) or []]
    plan, history, exc = _request(rt, connection_id, plan, history)
    _save(rt, connection_id, plan, history, exc)


def _plan(previous: dict, settings) -> dict:
    plan = {"accepted": [], "refused": [], **previous}
    if "start" not in plan:  # a connection made before ranges were stored
        start, end = gs.backfill_range(settings)
        plan.update(start=int(start.timestamp()), end=int(end.timestamp()))
    return plan


def _shift(chunks: list[tuple[int, int]], history: list[tuple[int, int]]) -> int:
    """Seconds to move this round's chunks back so none equals an earlier request (two connects
    within one second would otherwise repeat each other exactly)."""
    taken, shift = set(history), 0
    while any((a - shift, b - shift) in taken for a, b in chunks):
        shift += 1
    return shift


def _request(rt, connection_id: str, plan: dict, history: list):
    start = datetime.fromtimestamp(plan["start"], UTC)
    end = datetime.fromtimestamp(plan["end"], UTC)
    done = {a for a, _ in plan["accepted"] + plan["refused"]}
    chunks = [(int(a.timestamp()), int(b.timestamp())) for a, b in backfill_chunks(start, end)]
    todo = [c for c in chunks if c[0] not in done]
    plan.setdefault("shift", _shift(todo, history))
    api = gs.client(rt.settings)
    try:
        token = gs.access_token(rt, connection_id)
        for a, b in todo:
            ask = (a - plan["shift"], b - plan["shift"])
            result = api.request_backfill_chunk(token, *(datetime.fromtimestamp(t, UTC)
                                                         for t in ask))
            history.append(ask)
            plan["refused" if result.duplicate else "accepted"].append([a, b])
    except ProviderError as exc:
        return plan, history, exc
    return plan, history, None


def _save(rt, connection_id: str, plan: dict, history: list, exc: ProviderError | None) -> None:
    now = datetime.now(UTC)
    plan["at"] = now.isoformat()
    if isinstance(exc, AuthRevoked):
        gs.mark_revoked(rt, connection_id, gst.reason_for(exc))
        plan.update(status="failed_permanently", error="Garmin access revoked")
    elif isinstance(exc, PermissionMissing):
        gs.mark_paused(rt, connection_id, gst.PAUSED_412)
        plan.update(status="failed", error=redact_error(exc, 300))  # retried when sharing returns
    elif exc is not None:
        log.warning("garmin backfill failed", extra={"connection": connection_id})
        plan.update(status="failed_permanently" if exc.permanent else "failed",
                    error=redact_error(exc, 300))
        if plan["status"] == "failed":
            plan.update(retry_plan(plan, now, exc.retry_after))
    else:
        plan.update(status="partial" if plan["refused"] else "requested", error=None)
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is not None:
            conn.details = {**(conn.details or {}), "backfill": plan,
                            HISTORY_KEY: [list(r) for r in history[-HISTORY_MAX:]]}


def retry_plan(previous: dict, now: datetime, retry_after: float | None) -> dict:
    """When the sweeper should ask again: 5 min doubling to 6 h (or Garmin's Retry-After), then
    give up after BACKFILL_RETRIES attempts (the status says so; a reconnect starts over)."""
    attempts = int(previous.get("attempts", 0)) + 1
    if attempts > BACKFILL_RETRIES:
        return {"attempts": attempts, "status": "failed_permanently"}
    delay = max(retry_after or 0.0, min(300.0 * 2 ** (attempts - 1), 6 * 3600.0))
    return {"attempts": attempts, "next_at": (now + timedelta(seconds=delay)).isoformat()}


# -- refresh tokens --------------------------------------------------------------------------------


def due_for_renewal(conn: Connection, now: datetime) -> bool:
    """Unknown expiry (a token stored before it was tracked) counts as due: one refresh
    records it."""
    return conn.refresh_expires_at is None or conn.refresh_expires_at <= now + RENEW_AHEAD


def refresh_tokens() -> int:
    """Periodic job: renew every Garmin refresh token within RENEW_AHEAD of its expiry, for
    active and paused connections alike (a paused connection's token stays valid). Returns how
    many were renewed."""
    rt = runtime_mod.current()
    now = utcnow()
    with rt.db.session() as s:
        ids = s.scalars(select(Connection.id).where(
            Connection.provider == gs.PROVIDER, Connection.status.in_(("active", "disabled")),
            Connection.refresh_token_enc.is_not(None),
            or_(Connection.refresh_expires_at.is_(None),
                Connection.refresh_expires_at <= now + RENEW_AHEAD))).all()
    api, renewed = gs.client(rt.settings), 0
    for conn_id in ids:
        try:
            renewed += oauth.refresh_if_due(rt.db, rt.box, conn_id, api.refresh,
                                            lambda c: due_for_renewal(c, now))
        except AuthRevoked as exc:
            gs.mark_revoked(rt, conn_id, gst.reason_for(exc))
        except ProviderError as exc:  # tomorrow's run tries again; RENEW_AHEAD leaves room
            log.warning("garmin token renewal failed",
                        extra={"connection": conn_id, "error": str(exc)[:200]})
    return renewed


# -- paused connections ------------------------------------------------------------------------------


def recheck_paused() -> int:
    """Ask Garmin (GET user/permissions, Start Guide v1.1.0 §2.6.3) whether sharing is back for
    each paused connection, in case the permission notification that would resume it was lost.
    Returns how many resumed."""
    rt = runtime_mod.current()
    with rt.db.session() as s:
        ids = s.scalars(select(Connection.id).where(Connection.provider == gs.PROVIDER,
                                                    Connection.status == "disabled")).all()
    api, resumed = gs.client(rt.settings), 0
    for conn_id in ids:
        try:
            with rt.db.session() as s:
                conn = s.get(Connection, conn_id)  # None: deleted since the list was read
                token = rt.box.decrypt(conn.access_token_enc) if conn and conn.access_token_enc else None
            if token is None or ACTIVITY_EXPORT not in api.get_permissions(token):
                continue
        except AuthRevoked as exc:
            gs.mark_revoked(rt, conn_id, gst.reason_for(exc))
            continue
        except ProviderError:  # an expired access token or a hiccup: tomorrow again
            continue
        resumed += _resume(rt, conn_id)
    return resumed


def _resume(rt, conn_id: str) -> int:
    with rt.db.session() as s:
        conn = s.get(Connection, conn_id)
        if conn is None or conn.status != "disabled":
            return 0
        gst.resume(conn)
        gs.resume_paused(s, conn.provider_user_id)
    return 1


def daily_upkeep() -> dict:
    """Periodic job: renew refresh tokens ahead of expiry, then re-check paused connections."""
    return {"renewed": refresh_tokens(), "resumed": recheck_paused()}
