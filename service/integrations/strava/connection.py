"""Strava on the service side: the app's client and its one rate governor, connect/disconnect, and
forgetting Strava-derived data (activity delete, deauthorization, disconnect, 7-day retention).

No Flask here (the blueprint in `web.py` and the jobs in `jobs.py` of this package both call
in), and no job imports: work is handed on as inbound-event rows and queue names.

Inbound-event dedupe keys start with `strava:<owner id>:` so everything of one Strava athlete can
be found (and cancelled) with one prefix query; an `activity.delete` row doubles as the activity's
tombstone, so a late or retried `create` never brings a deleted activity back.

# Reference: ../shared/reference/apis.md §1 (OAuth), §4 (rate limits), §5 (retention, deletion)
# Reference: ../shared/reference/reliability.md §4 (Strava inbound pitfalls)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.domain import activities, deliveries, finding_list, signup
from service.errors import ApiError
from service.infra import jobs
from service.infra.db import changed
from service.infra.runtime import Runtime
from service.integrations import oauth
from service.integrations.base import ProviderError, RateLimited, TokenSet
from service.integrations.strava.client import RateGovernor, RateLimitState, StravaClient
from service.models import Activity, Athlete, Connection, Delivery, Finding, InboundEvent, RawFile, utcnow

log = logging.getLogger(__name__)

PROVIDER = "strava"
CALLBACK_PATH = "/connect/strava/callback"
WEBHOOK_PATH = "/webhooks/strava"
REQUIRED_SCOPE = "activity:read_all"
WRITE_SCOPE = "activity:write"
GOVERNOR_KEY = "kneeguard:strava:ratelimit"
SUBSCRIPTION_KEY = "kneeguard:strava:subscription"
# Summaries back this far feed the load rules (the longest rule window is the 8-week baseline);
# streams only for the window the terrain rules read (weekly_descent: days 8-35).
HISTORY_DAYS = 56
STREAM_DAYS = 35
TOMBSTONE_DAYS = 30
GOVERNOR = RateGovernor()
Priority = Literal["live", "backfill"]


class ConnectError(ApiError):
    """The OAuth callback cannot complete (bad state, refused consent, missing scopes)."""


class UpstreamError(ApiError):
    status = 502
    code = "strava_unavailable"


# ---- client and governor ---------------------------------------------------------------------


def client(rt: Runtime) -> StravaClient:
    s = rt.settings
    return StravaClient(s.strava_api_url, s.strava_oauth_url, s.strava_client_id or "",
                        s.strava_client_secret or "",
                        on_response=lambda headers: record_rate(rt, headers))


def record_rate(rt: Runtime, headers, now: datetime | None = None) -> None:
    """Keep the newest budget any process saw: one governor for the whole app."""
    state = RateLimitState.from_headers(headers, now or utcnow())
    if state is None:
        return
    try:
        rt.queue.redis.set(GOVERNOR_KEY, json.dumps(state.to_dict()), ex=2 * 86400)
    except Exception:  # a Redis hiccup must not fail the Strava call that already happened
        log.warning("could not store the Strava rate state", exc_info=True)


def rate_state(rt: Runtime) -> RateLimitState | None:
    raw = rt.queue.redis.get(GOVERNOR_KEY)
    return RateLimitState.from_dict(json.loads(raw)) if raw else None


def wait_seconds(rt: Runtime, priority: Priority, now: datetime | None = None) -> float:
    return GOVERNOR.wait_seconds(rate_state(rt), priority, now or utcnow())


def check_budget(rt: Runtime, priority: Priority) -> None:
    """Raise RateLimited (retry_after = the wait) when this priority must not call now: live
    events may spend the whole budget, backfill stops short so live work always finds room."""
    wait = wait_seconds(rt, priority)
    if wait > 0:
        raise RateLimited(f"strava budget spent for {priority} work", retry_after=wait)


def access_token(rt: Runtime, connection_id: str) -> str:
    return oauth.access_token(rt.db, rt.box, connection_id, client(rt).refresh)


# ---- lookups ---------------------------------------------------------------------------------


def connection_for(s: Session, owner_id: str | int) -> Connection | None:
    return s.scalar(select(Connection).where(Connection.provider == PROVIDER,
                                             Connection.provider_user_id == str(owner_id)))


def athlete_connection(s: Session, athlete_id: str) -> Connection | None:
    return s.scalar(select(Connection).where(Connection.provider == PROVIDER,
                                             Connection.athlete_id == athlete_id))


def event_prefix(owner_id: str | int) -> str:
    return f"strava:{owner_id}:"


def tombstoned(s: Session, owner_id: str | int, activity_id: str | int) -> bool:
    """Has a delete for this activity been confirmed with Strava? Only a delete whose job saw
    Strava answer 404 and removed a stored copy ends "done"; unconfirmed (possibly forged) ones
    end "dropped" and never block a later create."""
    prefix = f"{event_prefix(owner_id)}activity:{activity_id}:delete:"
    return s.scalar(select(InboundEvent.id).where(
        InboundEvent.status == "done",
        InboundEvent.dedupe_key.startswith(prefix, autoescape=True)).limit(1)) is not None


# ---- connect ---------------------------------------------------------------------------------


def redirect_uri(rt: Runtime) -> str:
    return f"{rt.settings.public_url}{CALLBACK_PATH}"


def start_connect(rt: Runtime, athlete_id: str | None, note: bool, *, browser: str,
                  return_to: str | None = None) -> str:
    """The Strava authorize URL with a single-use, expiring state bound to this browser (and to
    the signed-in athlete, or None for sign-up). activity:write only if the runner chose the note:
    an app asks for no more than it uses."""
    with rt.db.session() as s:
        state = oauth.new_state(s, rt.box, PROVIDER, athlete_id=athlete_id, browser=browser,
                                options="note=1" if note else "note=0", return_to=return_to)
    scopes = (REQUIRED_SCOPE, WRITE_SCOPE) if note else (REQUIRED_SCOPE,)
    return client(rt).authorize_url(redirect_uri(rt), state, scopes)


@dataclass(frozen=True)
class Connected:
    athlete_id: str
    connection_id: str
    strava_athlete_id: str
    scopes: list[str]
    note: bool
    delivery_ids: list[str]
    sync_event_id: str | None
    created: bool = False
    return_to: str | None = None


def finish_connect(rt: Runtime, state: str | None, code: str | None,
                   scope: str | None, browser: str | None) -> Connected:
    with rt.db.session() as s:  # consumed and committed first: a state never works twice
        row = oauth.consume_state(s, rt.box, PROVIDER, state, browser)
    if row is None:
        raise ConnectError("The connect link expired, was already used or was started in "
                           "another browser; start again.", code="invalid_state")
    if not code or len(code) > 200:
        raise ConnectError("Strava sent no authorization code.", code="invalid_code")
    api = client(rt)
    try:
        tokens = api.exchange_code(code, scope)
    except ProviderError as exc:
        raise UpstreamError(f"Strava refused the code exchange ({exc.status}).") from exc
    if REQUIRED_SCOPE not in tokens.scopes:
        _revoke_quietly(api, tokens)  # we will never use it: do not leave a live grant behind
        raise ConnectError("kneeguard needs access to your activities (activity:read_all).",
                           code="insufficient_scope", status=403,
                           details={"granted": sorted(tokens.scopes)})
    note = row.options == "note=1" and WRITE_SCOPE in tokens.scopes
    done = _save_connection(rt, row.athlete_id, tokens, note)
    return replace(done, return_to=row.return_to)


def _revoke_quietly(api: StravaClient, tokens: TokenSet) -> None:
    try:
        api.revoke(tokens.access_token, tokens.refresh_token)
    except ProviderError:
        log.warning("could not revoke a refused Strava grant", exc_info=True)


def _save_connection(rt: Runtime, athlete_id: str | None, tokens: TokenSet,
                     note: bool) -> Connected:
    owner = tokens.provider_user_id
    if not owner:
        raise UpstreamError("Strava's token response named no athlete.")
    with rt.db.session() as s:
        athlete_id, created = signup.account_for(s, PROVIDER, owner, athlete_id,
                                                 tokens.profile_name)
        taken = connection_for(s, owner)
        if taken is not None and taken.athlete_id != athlete_id:
            raise ConnectError("This Strava account is connected to another kneeguard athlete.",
                               code="already_connected", status=409)
        conn = taken or athlete_connection(s, athlete_id)
        if conn is not None and conn.provider_user_id != owner:
            purge_athlete(s, conn)  # another Strava account before: its data goes with it
            s.flush()
            conn = None
        if conn is None:
            conn = Connection(athlete_id=athlete_id, provider=PROVIDER, provider_user_id=owner,
                              details={})
            s.add(conn)
        oauth.store_tokens(conn, rt.box, tokens)
        conn.status = "active"
        conn.details = {**(conn.details or {}), "connected_at": utcnow().isoformat()}
        set_note(s.get_one(Athlete, athlete_id), note)
        s.flush()
        planned = deliveries.plan_connection_event(s, conn, "athlete.connected")
        sync = add_sync_event(s, conn, "connect")
        result = Connected(athlete_id, conn.id, owner, sorted(tokens.scopes), note,
                           [d.id for d in planned], sync, created)
    _enqueue(rt, result.delivery_ids, [result.sync_event_id] if result.sync_event_id else [])
    return result


def set_note(athlete: Athlete, on: bool) -> None:
    """The description note is on only if the runner chose it (at connect or in preferences)."""
    athlete.note_writeback = on
    athlete.preferences = {**(athlete.preferences or {}), "strava_note": on}


def add_sync_event(s: Session, conn: Connection, reason: str,
                   not_before: datetime | None = None) -> str:
    """A history sync (backfill on connect, reconcile later) as an inbound-event row, so it gets
    the ingest job's retries, back-off on 429 and the sweeper's safety net for free."""
    now = utcnow()
    key = f"{event_prefix(conn.provider_user_id)}sync:{conn.id}:{reason}:{now.timestamp():.6f}"
    row = InboundEvent(source=PROVIDER, kind="sync", dedupe_key=key[:200],
                       payload={"connection_id": conn.id, "owner_id": conn.provider_user_id,
                                "reason": reason},
                       next_attempt_at=not_before or now)
    s.add(row)
    s.flush()
    return row.id


def _enqueue(rt: Runtime, delivery_ids: list[str], event_ids: list[str]) -> None:
    for d in delivery_ids:
        jobs.deliver(rt, d)
    for e in event_ids:
        jobs.process_event(rt, e)


# ---- disconnect and forgetting -----------------------------------------------------------------


def disconnect(rt: Runtime, athlete_id: str) -> dict:
    """Revoke upstream (best effort: the local data goes whatever Strava answers), then delete
    the tokens and every Strava-derived row at once."""
    with rt.db.session() as s:
        conn = athlete_connection(s, athlete_id)
        if conn is None:
            return {"disconnected": False, "revoked": None, "deleted": {}}
        tokens = (rt.box.decrypt(conn.access_token_enc) if conn.access_token_enc else None,
                  rt.box.decrypt(conn.refresh_token_enc) if conn.refresh_token_enc else None)
    revoked = None
    if tokens[0]:
        try:
            revoked = client(rt).revoke(tokens[0], tokens[1])
        except ProviderError as exc:
            log.warning("strava revoke failed", extra={"athlete": athlete_id, "error": str(exc)})
    with rt.db.session() as s:
        conn = athlete_connection(s, athlete_id)
        # Planned before the purge deletes the connection; keyed by its lifetime, so it is one.
        planned = deliveries.plan_connection_event(s, conn, "athlete.disconnected",
                                                   reason="user_request") if conn else []
        deleted = purge_athlete(s, conn)[0] if conn else {}
        ids = [d.id for d in planned]
    _enqueue(rt, ids, [])
    return {"disconnected": True, "revoked": revoked, "deleted": deleted}


def purge_athlete(s: Session, conn: Connection,
                  keep_event_id: str | None = None) -> tuple[dict, list[str]]:
    """Tokens, the connection, every Strava activity/raw file/finding of the athlete, pending
    deliveries built on them and the athlete's queued Strava events: gone in one transaction.
    Returns the counts and the runs of other sources sent back for re-analysis."""
    athlete_id, owner = conn.athlete_id, conn.provider_user_id
    acts = s.scalars(select(Activity.id).where(Activity.athlete_id == athlete_id,
                                               Activity.source == PROVIDER)).all()
    counts, again = forget_activities(s, athlete_id, list(acts))
    strava_findings = [f.id for f in s.scalars(select(Finding).where(
        Finding.athlete_id == athlete_id)) if PROVIDER in (f.sources or [])]
    counts["findings"] += _delete_findings(s, athlete_id, strava_findings)
    counts["raw_files"] = changed(s.execute(delete(RawFile).where(
        RawFile.athlete_id == athlete_id, RawFile.source == PROVIDER)))
    counts["deliveries_cancelled"] += _cancel(s, athlete_id, channel="strava_note")
    query = delete(InboundEvent).where(
        InboundEvent.dedupe_key.startswith(event_prefix(owner), autoescape=True))
    if keep_event_id:
        query = query.where(InboundEvent.id != keep_event_id)
    counts["events"] = changed(s.execute(query))
    s.delete(conn)
    counts["connections"] = 1
    return counts, again


def forget_activities(s: Session, athlete_id: str, activity_ids: list[str], *,
                      reanalyze: bool = True) -> tuple[dict, list[str]]:
    """Delete these activities, their findings (cascade), the day-level findings of their days
    that rested on Strava data, and cancel pending deliveries that would carry any of it.

    `reanalyze`: the runs are gone from the runner's history (deleted, deauthorized), so later days
    are re-analysed (their ids returned, to enqueue after the commit). Not for retention purges:
    evicting cached data does not change the history."""
    counts = {"activities": 0, "findings": 0, "deliveries_cancelled": 0}
    if not activity_ids:
        return counts, []
    days = set(s.scalars(select(Activity.start_time).where(Activity.id.in_(activity_ids))))
    dates = {d.date() for d in days}
    doomed = [f.id for f in s.scalars(select(Finding).where(Finding.athlete_id == athlete_id))
              if f.activity_id in activity_ids
              or (f.activity_id is None and f.date in dates and PROVIDER in (f.sources or []))]
    counts["findings"] = _delete_findings(s, athlete_id, doomed)
    finding_list.drop_tombstones(s, athlete_id, PROVIDER, dates)
    counts["deliveries_cancelled"] = _cancel(s, athlete_id, activity_ids=set(activity_ids),
                                             finding_ids=set(doomed))
    counts["activities"] = changed(s.execute(delete(Activity).where(
        Activity.id.in_(activity_ids))))
    again = activities.reanalyze_later(s, athlete_id, list(days)) if reanalyze else []
    if reanalyze:
        counts["reanalysed"] = len(again)
    return counts, again


def _delete_findings(s: Session, athlete_id: str, ids: list[str]) -> int:
    if not ids:
        return 0
    return changed(s.execute(delete(Finding).where(Finding.athlete_id == athlete_id,
                                           Finding.id.in_(ids))))


def _cancel(s: Session, athlete_id: str, *, channel: str | None = None,
            activity_ids: Set[str] = frozenset(), finding_ids: Set[str] = frozenset()) -> int:
    """Cancel the athlete's pending deliveries on `channel`, or those naming these rows."""
    pending = s.scalars(select(Delivery).where(Delivery.athlete_id == athlete_id,
                                               Delivery.status == "pending")).all()
    hit = [d.id for d in pending
           if d.channel == channel or _mentions(d, activity_ids, finding_ids)]
    if hit:
        s.execute(update(Delivery).where(Delivery.id.in_(hit))
                  .values(status="cancelled", next_attempt_at=None))
    return len(hit)


def _mentions(d: Delivery, activity_ids: Set[str], finding_ids: Set[str]) -> bool:
    p = d.payload or {}
    data = p.get("data") or {}
    named = {p.get("activity_id"), d.target, data.get("id"), data.get("activity_id")}
    named |= set(p.get("finding_ids") or []) | set(data.get("finding_ids") or [])
    return bool(named & (activity_ids | finding_ids))


def purge_expired(s: Session, now: datetime | None = None) -> dict:
    """Retention (policy: Strava data at most 7 days): expired Strava activities and raw files,
    and old processed events (tombstones are kept a while longer: Strava retries and delays)."""
    now = now or utcnow()
    expired = s.execute(select(Activity.id, Activity.athlete_id).where(
        Activity.source == PROVIDER, Activity.expires_at.is_not(None),
        Activity.expires_at <= now)).all()
    counts = {"activities": 0, "findings": 0, "deliveries_cancelled": 0}
    by_athlete: dict[str, list[str]] = {}
    for row in expired:
        by_athlete.setdefault(row.athlete_id, []).append(row.id)
    for athlete_id, ids in by_athlete.items():
        for k, v in forget_activities(s, athlete_id, ids, reanalyze=False)[0].items():
            counts[k] += v
    counts["raw_files"] = changed(s.execute(delete(RawFile).where(
        RawFile.source == PROVIDER, RawFile.expires_at.is_not(None),
        RawFile.expires_at <= now)))
    counts["events"] = _purge_events(s, now)
    return counts


def _purge_events(s: Session, now: datetime) -> int:
    old = select(InboundEvent.id).where(
        InboundEvent.source == PROVIDER, InboundEvent.status != "received",
        InboundEvent.received_at <= now - timedelta(days=7), InboundEvent.kind != "activity.delete")
    n = changed(s.execute(delete(InboundEvent).where(InboundEvent.id.in_(old))))
    stale = select(InboundEvent.id).where(
        InboundEvent.source == PROVIDER, InboundEvent.kind == "activity.delete",
        InboundEvent.received_at <= now - timedelta(days=TOMBSTONE_DAYS))
    return n + changed(s.execute(delete(InboundEvent).where(InboundEvent.id.in_(stale))))
