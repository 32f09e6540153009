"""Garmin connections: connect (OAuth 2.0 + PKCE), disconnect, tokens, and the policy purge.

The blueprint (`web.py`) and the jobs (`jobs.py`, `upkeep.py`) of this package both call in
here. Network calls are never made inside an open database transaction: read what is needed, close
the session, talk to Garmin, then write in a new session (SQLite allows one writer; a held write
lock would block the token refresh, which commits in its own session).

# Reference: ../shared/reference/apis.md §7 (OAuth2 flow, Users, Backfill)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.domain import activities, deliveries, finding_list, signup
from service.errors import ApiError, Conflict, InvalidInput
from service.infra import jobs
from service.infra.db import changed
from service.infra.runtime import Runtime
from service.infra.settings import Settings
from service.integrations import oauth
from service.integrations.base import AuthRevoked, ProviderError, TokenSet
from service.integrations.garmin import status as gst
from service.integrations.garmin.client import GarminClient, new_pkce_pair
from service.integrations.garmin.notifications import ACTIVITY_EXPORT
from service.integrations.garmin.responses import PermissionMissing
from service.models import Activity, Athlete, Connection, Finding, InboundEvent, RawFile, utcnow

log = logging.getLogger(__name__)
PROVIDER = "garmin"
SOURCE = "garmin"
DEFAULT_BACKFILL_DAYS = 90
CALLBACK_PATH = "/connect/garmin/callback"


class UpstreamError(ApiError):
    status = 502
    code = "provider_error"


@dataclass(frozen=True)
class Connected:
    connection_id: str
    athlete_id: str
    provider_user_id: str
    status: str  # active, or disabled when the user did not share activities
    delivery_ids: tuple[str, ...] = ()  # athlete.connected webhooks to send
    created: bool = False  # a new account (sign-up by connect)
    return_to: str | None = None


def client(settings: Settings) -> GarminClient:
    return GarminClient(settings.garmin_api_url, settings.garmin_auth_url,
                        settings.garmin_token_url, settings.garmin_client_id or "",
                        settings.garmin_client_secret or "")


def redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def backfill_days(settings: Settings) -> int:
    return settings.garmin_backfill_days


def connection_for(s: Session, provider_user_id: str) -> Connection | None:
    return s.scalar(select(Connection).where(Connection.provider == PROVIDER,
                                             Connection.provider_user_id == provider_user_id))


def athlete_connection(s: Session, athlete_id: str) -> Connection | None:
    return s.scalar(select(Connection).where(Connection.provider == PROVIDER,
                                             Connection.athlete_id == athlete_id))


# -- connect ---------------------------------------------------------------------------------------


def start_connect(rt: Runtime, athlete_id: str | None, *, browser: str,
                  return_to: str | None = None) -> str:
    """A fresh PKCE pair and single-use state bound to this browser (and to the signed-in athlete,
    or None for sign-up/sign-in); returns Garmin's consent URL."""
    verifier, challenge = new_pkce_pair()
    with rt.db.session() as s:
        state = oauth.new_state(s, rt.box, PROVIDER, athlete_id=athlete_id, browser=browser,
                                code_verifier=verifier, return_to=return_to)
    return client(rt.settings).authorize_url(redirect_uri(rt.settings), state, challenge)


def finish_connect(rt: Runtime, code: str | None, state: str | None,
                   browser: str | None) -> Connected:
    """Consume the state (even when the exchange then fails), exchange the code with the PKCE
    verifier, identify the Garmin user and upsert the connection with encrypted tokens."""
    with rt.db.session() as s:
        row = oauth.consume_state(s, rt.box, PROVIDER, state, browser)
        athlete_id = row.athlete_id if row else None
        verifier = row.code_verifier_enc if row else None
        return_to = row.return_to if row else None
    if not verifier:
        raise InvalidInput("The connect link is invalid, expired, already used or was started "
                           "in another browser; start again.", code="invalid_state")
    if not code:
        raise InvalidInput("Garmin sent no authorization code.", code="invalid_callback")
    api = client(rt.settings)
    try:
        tokens = api.exchange_code(code, verifier, redirect_uri(rt.settings))
        user_id = api.get_user_id(tokens.access_token)
        permissions = _permissions(api, tokens.access_token)
    except ProviderError as exc:
        raise UpstreamError(f"Garmin refused the connection: {exc}") from exc
    try:
        with rt.db.session() as s:
            athlete_id, created = signup.account_for(s, PROVIDER, user_id, athlete_id)
            connected = _upsert(s, rt, athlete_id, user_id, tokens, permissions)
    except IntegrityError as exc:  # a concurrent callback for the same Garmin user won
        raise Conflict("This Garmin account is already connected.",
                       code="already_connected") from exc
    deliveries.enqueue(rt, connected.delivery_ids)
    return replace(connected, created=created, return_to=return_to)


def _permissions(api: GarminClient, access_token: str) -> frozenset[str] | None:
    try:
        return api.get_permissions(access_token)
    except ProviderError:  # unknown: assume the consent screen's default (everything shared)
        log.warning("garmin permissions lookup failed at connect")
        return None


def _upsert(s: Session, rt: Runtime, athlete_id: str, user_id: str, tokens: TokenSet,
            permissions: frozenset[str] | None) -> Connected:
    if s.get(Athlete, athlete_id) is None:
        raise InvalidInput("The athlete no longer exists.", code="invalid_state")
    conn = _claimable(s, athlete_id, user_id)
    if conn is None:
        conn = Connection(athlete_id=athlete_id, provider=PROVIDER, provider_user_id=user_id,
                          details={})
        s.add(conn)
    oauth.store_tokens(conn, rt.box, tokens)
    exporting = permissions is None or ACTIVITY_EXPORT in permissions
    if exporting:
        gst.resume(conn)
        resume_paused(s, user_id)
    else:
        conn.status, conn.status_reason = "disabled", gst.PAUSED_PERMISSION
    start, end = backfill_range(rt.settings)
    conn.details = {**(conn.details or {}), "connected_at": utcnow().isoformat(),
                    "permissions": sorted(permissions) if permissions is not None else None,
                    "backfill": {"status": "pending", "next_at": utcnow().isoformat(),
                                 "start": int(start.timestamp()), "end": int(end.timestamp()),
                                 "accepted": [], "refused": []}}
    s.flush()
    planned = deliveries.plan_connection_event(s, conn, "athlete.connected")
    s.flush()
    return Connected(conn.id, athlete_id, user_id, conn.status, tuple(d.id for d in planned))


def _claimable(s: Session, athlete_id: str, user_id: str) -> Connection | None:
    """The row to reuse for (athlete, Garmin user), after refusing a live conflict. Revoked rows
    hold no tokens and no data (the purge ran), so they may be taken over."""
    by_user = connection_for(s, user_id)
    if by_user is not None and by_user.athlete_id != athlete_id:
        if by_user.status != "revoked":
            raise Conflict("This Garmin account is already connected to another athlete.",
                           code="already_connected")
        s.delete(by_user)
        s.flush()
        by_user = None
    mine = athlete_connection(s, athlete_id)
    if mine is not None and mine.provider_user_id != user_id:
        if mine.status != "revoked":
            raise Conflict("This athlete is connected to another Garmin account; disconnect it "
                           "first.", code="already_connected")
        mine.provider_user_id = user_id
    return by_user or mine


def enqueue_backfill(rt: Runtime, connection_id: str) -> None:
    jobs.garmin_backfill(rt, connection_id)


def backfill_range(settings: Settings, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last N days up to this second, fixed once per connect (stored on the connection):
    Garmin answers 409 to "requests for already requested time period" (GARMIN-ACT §8), so a
    reconnect must not repeat an earlier connect's ranges, and a retried job must not repeat
    the chunks Garmin already accepted (the job records them)."""
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    return end - timedelta(days=backfill_days(settings)), end


# -- tokens ----------------------------------------------------------------------------------------


def access_token(rt: Runtime, connection_id: str) -> str:
    """A valid token for an active connection (refreshed ahead of expiry, exactly once). A dead
    refresh token marks the connection revoked: the user must connect again."""
    api = client(rt.settings)
    try:
        return oauth.access_token(rt.db, rt.box, connection_id, api.refresh)
    except LookupError as exc:
        raise _not_active(rt, connection_id) from exc
    except AuthRevoked as exc:
        mark_revoked(rt, connection_id, gst.reason_for(exc))
        raise


def _not_active(rt: Runtime, connection_id: str) -> ProviderError:
    """The connection changed after the caller looked: say how, so the caller pauses or drops."""
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        status = conn.status if conn is not None else "gone"
    if status == "disabled":
        return PermissionMissing(f"connection {connection_id} is paused")
    if status in ("revoked", "gone"):
        return AuthRevoked(f"connection {connection_id} is {status}")
    return ProviderError(f"connection {connection_id} is {status}", permanent=True)


def revoke(conn: Connection, reason: str | None = None) -> None:
    gst.revoke(conn, reason)


def mark_revoked(rt: Runtime, connection_id: str, reason: str) -> None:
    """Garmin refused the token (401/403/invalid_grant): revoke in a session of our own (the
    caller's may roll back) and tell the runner once."""
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        ids = gst.revoke_and_tell(s, conn, reason) if conn is not None else []
    deliveries.enqueue(rt, ids)


def mark_paused(rt: Runtime, connection_id: str, reason: str) -> None:
    """Pause an active connection (a paused one keeps the reason it already shows)."""
    with rt.db.session() as s:
        conn = s.get(Connection, connection_id)
        if conn is not None and conn.status == "active":
            gst.pause(conn, reason)


# -- disconnect and purge --------------------------------------------------------------------------


def disconnect(rt: Runtime, athlete_id: str) -> dict:
    """The user's opt-out: DELETE the registration at Garmin (required by Garmin when a partner
    offers opt-out), then delete tokens and Garmin data (DESIGN §2: kept until disconnect)."""
    with rt.db.session() as s:
        conn = athlete_connection(s, athlete_id)
        if conn is None or conn.status == "revoked":
            return {"disconnected": True, "upstream": "not_connected",
                    "deleted": purge(s, athlete_id)[0]}
        conn_id, status = conn.id, conn.status
        token = rt.box.decrypt(conn.access_token_enc) if conn.access_token_enc else None
    upstream = _deregister(rt, conn_id, status, token)
    with rt.db.session() as s:
        conn = s.get(Connection, conn_id)
        planned = []
        if conn is not None:
            revoke(conn, gst.DISCONNECTED)
            conn.details = {**(conn.details or {}), "disconnected_at": utcnow().isoformat()}
            # One per connection lifetime: Garmin's follow-up deregistration plans nothing more.
            planned = deliveries.plan_connection_event(s, conn, "athlete.disconnected",
                                                       reason="user_request")
        deleted, _again = purge(s, athlete_id)  # the sweeper analyses them again
        s.flush()
        ids = [d.id for d in planned]
    deliveries.enqueue(rt, ids)
    return {"disconnected": True, "upstream": upstream, "deleted": deleted}


def _deregister(rt: Runtime, conn_id: str, status: str, token: str | None) -> str:
    api = client(rt.settings)
    try:
        # A disabled connection's token is still valid (Garmin only stops sharing data). No
        # "connection stopped" email here: the runner is the one disconnecting.
        bearer = (oauth.access_token(rt.db, rt.box, conn_id, api.refresh)
                  if status == "active" else token)
        if bearer is None:
            return "no_token"
        api.deregister(bearer)
        return "deregistered"
    except AuthRevoked:
        return "already_revoked"  # the user already removed us in Garmin Connect
    except LookupError:
        return "no_token"  # revoked meanwhile by a concurrent job
    except ProviderError as exc:
        # Local deletion still happens: the user asked for it. Garmin's later pings for this
        # user are dropped (connection revoked).
        log.warning("garmin deregistration failed", extra={"error": str(exc)})
        return "failed"


def purge(s: Session, athlete_id: str) -> tuple[dict[str, int], list[str]]:
    """Delete the athlete's Garmin activities (findings on them cascade), day-level findings that
    rest on Garmin data, and the stored Garmin files. Returns the counts and the runs of other
    sources sent back for re-analysis (to enqueue after the commit)."""
    ids = s.scalars(select(Activity.id).where(Activity.athlete_id == athlete_id,
                                              Activity.source == SOURCE)).all()
    findings = [f.id for f in s.scalars(select(Finding).where(
        Finding.athlete_id == athlete_id, Finding.activity_id.is_(None)))
        if SOURCE in (f.sources or [])]
    if findings:
        s.execute(delete(Finding).where(Finding.id.in_(findings)))
    finding_list.drop_tombstones(s, athlete_id, SOURCE)
    starts = list(s.scalars(select(Activity.start_time).where(Activity.id.in_(ids)))) if ids else []
    if ids:
        s.execute(delete(Finding).where(Finding.activity_id.in_(ids)))
        s.execute(delete(Activity).where(Activity.id.in_(ids)))
    raw = changed(s.execute(delete(RawFile).where(RawFile.athlete_id == athlete_id,
                                          RawFile.source == SOURCE)))
    again = activities.reanalyze_later(s, athlete_id, starts)
    return {"activities": len(ids), "findings": len(findings), "raw_files": raw,
            "reanalysed": len(again), "events": forget_events(s, athlete_id)}, again


ACTIVITY_EVENT_KINDS = ("activity_file", "activity_summary", "activity_ping")


def resume_paused(s: Session, user_id: str) -> int:
    """Sharing is back: the notifications that waited are due now (the sweeper enqueues them).
    Garmin answered 200 to them once and will not send them again."""
    rows = s.scalars(select(InboundEvent).where(
        InboundEvent.source == SOURCE, InboundEvent.status == "paused",
        InboundEvent.payload["userId"].as_string() == user_id)).all()
    for event in rows:
        event.status, event.next_attempt_at = "received", utcnow()
        event.last_error = f"resumed after: {event.last_error or 'pause'}"[:1000]
    return len(rows)


def forget_events(s: Session, athlete_id: str) -> int:
    """Delete the user's activity notifications with the data: their dedupe keys (summaryIds)
    must not outlive the purge, or Garmin re-sending that history after a reconnect would be
    taken for a repeat. Their payloads (activity names, devices) are Garmin data too."""
    conn = athlete_connection(s, athlete_id)
    if conn is None:
        return 0
    return changed(s.execute(delete(InboundEvent).where(
        InboundEvent.source == SOURCE, InboundEvent.kind.in_(ACTIVITY_EVENT_KINDS),
        InboundEvent.payload["userId"].as_string() == conn.provider_user_id)))
