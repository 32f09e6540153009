"""OAuth plumbing shared by providers: single-use expiring state bound to the browser that started
the flow, encrypted token storage, and refresh-ahead-of-expiry with exactly one upstream refresh per
connection at a time.

Why the browser binding: without it, whoever holds an authorize URL can hand it to someone else,
whose provider account then lands in the starter's kneeguard account (account-linking CSRF,
RFC 6749 §10.12). The state row keeps the hash of a random value from the starter's session
cookie; a callback arriving with another browser's cookie (or none) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.infra.crypto import TokenBox
from service.infra.db import changed
from service.integrations.base import TokenSet
from service.models import Connection, OAuthState, utcnow

STATE_TTL = timedelta(minutes=10)
REFRESH_AHEAD = timedelta(minutes=10)  # Garmin asks for ≥600 s; Strava for an hour's slack
_local_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def new_state(s: Session, box: TokenBox, provider: str, *, browser: str,
              athlete_id: str | None = None, code_verifier: str | None = None,
              options: str | None = None, return_to: str | None = None) -> str:
    """`browser`: hash of the starting browser's binding value; `athlete_id` None = sign up/in."""
    state = secrets.token_urlsafe(32)
    s.execute(delete(OAuthState).where(OAuthState.expires_at < utcnow()))
    s.add(OAuthState(state_hash=_hash(state), provider=provider, athlete_id=athlete_id,
                     code_verifier_enc=box.encrypt(code_verifier) if code_verifier else None,
                     options=options, browser_hash=browser, return_to=return_to,
                     expires_at=utcnow() + STATE_TTL))
    return state


def consume_state(s: Session, box: TokenBox, provider: str, state: str | None,
                  browser: str | None) -> OAuthState | None:
    """The state row if `state` is ours, unexpired, unused and started by this browser; it can
    never be used again (a mismatch burns it too: the link was leaked)."""
    if not state or len(state) > 200:
        return None
    row = s.get(OAuthState, _hash(state))
    if row is None or row.provider != provider:
        return None
    # DELETE … with a rowcount check: two callbacks racing with one state cannot both win.
    gone = changed(s.execute(delete(OAuthState).where(OAuthState.state_hash == row.state_hash)))
    if gone != 1 or row.expires_at < utcnow():
        return None
    if not browser or not row.browser_hash or not hmac.compare_digest(row.browser_hash, browser):
        return None
    if row.code_verifier_enc:
        row.code_verifier_enc = box.decrypt(row.code_verifier_enc)
    return row


def store_tokens(conn: Connection, box: TokenBox, tokens: TokenSet) -> None:
    conn.access_token_enc = box.encrypt(tokens.access_token)
    conn.refresh_token_enc = box.encrypt(tokens.refresh_token)
    conn.expires_at = tokens.expires_at
    if tokens.refresh_expires_at is not None:
        conn.refresh_expires_at = tokens.refresh_expires_at
    if tokens.scopes:
        conn.scopes = sorted(tokens.scopes)


def _process_lock(connection_id: str) -> threading.Lock:
    with _locks_guard:
        return _local_locks.setdefault(connection_id, threading.Lock())


def access_token(db, box: TokenBox, connection_id: str,
                 refresh: Callable[[str], TokenSet], *,
                 statuses: tuple[str, ...] = ("active",)) -> str:
    """A valid access token, refreshing ahead of expiry.

    Refresh tokens rotate, so two concurrent refreshes would race and one would store a dead token.
    The connection row is locked (SELECT … FOR UPDATE on PostgreSQL; a process lock on the embedded
    SQLite default) and the expiry re-checked after the lock is held: exactly one caller refreshes,
    the others read the newest token it stored.
    """
    with _process_lock(connection_id), db.session() as s:
        conn = s.scalar(select(Connection).where(Connection.id == connection_id)
                        .with_for_update())
        if conn is None or conn.status not in statuses or not conn.access_token_enc:
            raise LookupError(f"connection {connection_id} is not active")
        if conn.expires_at and conn.expires_at - REFRESH_AHEAD > utcnow():
            return box.decrypt(conn.access_token_enc)
        tokens = refresh(box.decrypt(conn.refresh_token_enc))
        store_tokens(conn, box, tokens)
        return tokens.access_token


def refresh_if_due(db, box: TokenBox, connection_id: str, refresh: Callable[[str], TokenSet],
                   due: Callable[[Connection], bool]) -> bool:
    """Refresh now when `due(conn)` still holds once the row is locked (a periodic job renewing
    a refresh token before it dies of age). True when a refresh happened. Same lock as
    `access_token`, so a concurrent ingest never spends the rotated-away refresh token."""
    with _process_lock(connection_id), db.session() as s:
        conn = s.scalar(select(Connection).where(Connection.id == connection_id)
                        .with_for_update())
        if conn is None or not conn.refresh_token_enc or not due(conn):
            return False
        store_tokens(conn, box, refresh(box.decrypt(conn.refresh_token_enc)))
        return True
