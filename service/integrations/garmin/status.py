"""What state a Garmin connection is in, why, and what the runner is told.

Garmin documents three ways a user stops sharing (GARMIN-ACT v1.2.3 Appendix B; Start Guide
v1.1.0 §2.6): the token is dead (401, or 403 "invalidated by the user removing their consent"),
a permission is off (412, "the User Access Token is valid, but the user has not given his
permission"), or a deregistration/permission notification says so. Each ends here: the connection
row carries `status` and a `status_reason` in words the runner can act on, /me and
`GET /v1/athletes/<id>/connections/garmin` show them, and a revocation emails the runner once.

The history line (`history_text`) says what a connect-time backfill asked Garmin for, what
Garmin accepted, and what it refused as "already requested" (HTTP 409), so the runner knows what
was and was not recovered after a reconnect.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain import deliveries
from service.domain.email_channel import CONNECTION_STOPPED
from service.models import Activity, Athlete, Connection, utcnow

SOURCE = "garmin"
REVOKED_403 = ("Garmin says kneeguard's access was removed (HTTP 403: consent withdrawn in "
               "Garmin Connect). Connect Garmin again to resume.")
REVOKED_401 = "Garmin no longer accepts kneeguard's token (HTTP 401). Connect Garmin again."
REVOKED_REFRESH = ("Garmin refused to renew kneeguard's access (the refresh token is no longer "
                   "valid). Connect Garmin again to resume.")
DEREGISTERED = "You removed kneeguard in Garmin Connect; your Garmin data was deleted here."
DISCONNECTED = "You disconnected Garmin; your Garmin data was deleted here."
PAUSED_412 = ("Paused: Garmin says activity sharing is off for kneeguard (HTTP 412). Turn on "
              "activity sharing in Garmin Connect's account settings to resume; runs that "
              "arrived meanwhile are imported then.")
PAUSED_PERMISSION = ("Paused: you turned off activity sharing for kneeguard in Garmin Connect. "
                     "Turn it on again to resume; runs that arrived meanwhile are imported then.")
NOTICE_EVENT = CONNECTION_STOPPED  # the email channel renders it


def reason_for(exc: Exception) -> str:
    if "invalid_grant" in str(exc):
        return REVOKED_REFRESH
    return REVOKED_403 if getattr(exc, "status", None) == 403 else REVOKED_401


def revoke(conn: Connection, reason: str | None = None) -> None:
    conn.status = "revoked"
    conn.status_reason = reason
    conn.access_token_enc = None
    conn.refresh_token_enc = None
    conn.expires_at = None
    conn.refresh_expires_at = None


def revoke_and_tell(s: Session, conn: Connection, reason: str) -> list[str]:
    """Revoke (if not already) and plan one email to the runner; returns delivery ids to enqueue
    after the commit. A runner without an email address sees the reason on /me only."""
    if conn.status == "revoked":
        return []
    revoke(conn, reason)
    at = utcnow().isoformat()
    conn.details = {**(conn.details or {}), "revoked_at": at}
    athlete = s.get(Athlete, conn.athlete_id)
    if athlete is None or not athlete.email:
        return []
    row = deliveries.add_once(
        s, channel="email", dedupe_key=f"garmin-revoked:{conn.id}:{at}", athlete_id=athlete.id,
        target=athlete.email, event_type=NOTICE_EVENT,
        payload={"provider": SOURCE, "reason": reason})
    s.flush()
    return [row.id] if row is not None else []


def pause(conn: Connection, reason: str) -> None:
    """Ingestion stops; the token stays (Start Guide §2.6.3: "the user's access token will still
    be valid, but no data will be shared")."""
    if conn.status == "revoked":
        return
    conn.status, conn.status_reason = "disabled", reason


def resume(conn: Connection) -> None:
    conn.status, conn.status_reason = "active", None


# -- what /me and the API show -----------------------------------------------------------------


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def history_text(backfill: dict | None, runs: int) -> str | None:
    """One sentence on the last history request, or None before any."""
    if not backfill or "start" not in backfill:
        return None
    span = f"{_day(backfill['start'])} to {_day(backfill['end'])}"
    refused = backfill.get("refused") or []
    status = backfill.get("status")
    if status in ("pending", "failed"):
        return f"Garmin history {span}: being requested ({runs} Garmin runs stored so far)."
    if status == "failed_permanently":
        return (f"Garmin history {span}: Garmin did not accept the request "
                f"({backfill.get('error') or 'error'}); {runs} Garmin runs stored.")
    text = f"Garmin history {span}: requested; {runs} Garmin runs stored so far."
    if refused:
        days = ", ".join(f"{_day(a)} to {_day(b)}" for a, b in refused)
        text += (f" Not recovered: Garmin refused to send {days} again (HTTP 409, already "
                 "requested once); runs from those days are missing unless you upload them.")
    return text


def garmin_runs(s: Session, athlete_id: str) -> int:
    return s.scalar(select(func.count()).select_from(Activity).where(
        Activity.athlete_id == athlete_id, Activity.source == SOURCE)) or 0


def view(s: Session, conn: Connection) -> dict:
    """The connection as the runner may see it (no tokens)."""
    backfill = (conn.details or {}).get("backfill")
    return {
        "provider": SOURCE, "status": conn.status, "status_reason": conn.status_reason,
        "permissions": (conn.details or {}).get("permissions"),
        "access_renewal_due": conn.refresh_expires_at.isoformat()
        if conn.refresh_expires_at else None,
        "history": {**(backfill or {}),
                    "text": history_text(backfill, garmin_runs(s, conn.athlete_id))}
        if backfill else None,
    }
