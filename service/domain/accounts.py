"""Athletes: their personal API tokens, preferences, and an optional confirmed email address."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Conflict, NotFound
from service.infra.crypto import TokenBox
from service.infra.runtime import Runtime
from service.models import Athlete, Delivery, utcnow

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "kg_" + secrets.token_urlsafe(32)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ValueError(f"not an email address: {email!r}")
    return email


def get_or_create_athlete(session, email: str) -> Athlete:
    email = normalise_email(email)
    athlete = session.scalar(select(Athlete).where(Athlete.email == email))
    if athlete is None:
        athlete = Athlete(email=email, preferences={}, thresholds={})
        session.add(athlete)
        session.flush()
    return athlete


def add_athlete(runtime: Runtime, email: str) -> tuple[str, str]:
    """Create the athlete if needed and issue a fresh token (the old one stops working)."""
    token = new_token()
    with runtime.db.session() as s:
        athlete = get_or_create_athlete(s, email)
        athlete.token_hash = hash_token(token)
        # a reissued token ends every browser session signed in before (service/web/auth.py)
        athlete.session_version = (athlete.session_version or 0) + 1
        athlete_id = athlete.id
    return athlete_id, token


def athlete_for_token(session, token: str) -> Athlete | None:
    return session.scalar(select(Athlete).where(Athlete.token_hash == hash_token(token)))


# `integrators`: share findings with third-party integrators' webhooks (API-key endpoints). Off until
# the runner says so (DESIGN §2: integrator webhooks only with consent). The operator's own
# endpoints (`kneeguard endpoints add`) are the service itself and need no extra consent.
DEFAULT_PREFERENCES = {"email": True, "strava_note": False, "min_severity": "caution",
                       "integrators": False}


def preferences(athlete: Athlete) -> dict:
    return {**DEFAULT_PREFERENCES, **(athlete.preferences or {})}


# ---- an optional email address, used only once confirmed ---------------------------------------

CONFIRM_EVENT = "email.confirm"  # the delivery row that carries the confirmation link
CONFIRM_TTL = timedelta(hours=24)


def request_email(s: Session, box: TokenBox, athlete_id: str, address: str) -> Delivery | None:
    """Keep `address` pending and plan the email with its one-time confirmation link (sent by the
    deliver job after the caller's commit, retried on the delivery schedule). Only the token's
    hash is kept on the athlete; the delivery row holds the token encrypted until it is sent.

    An address another account uses gets nothing (None) and the caller answers exactly as for a
    free one: the form must not tell a runner which addresses have an account."""
    if s.scalar(select(Athlete.id).where(Athlete.email == address, Athlete.id != athlete_id)):
        return None
    token = secrets.token_urlsafe(32)
    athlete = s.get_one(Athlete, athlete_id)
    athlete.pending_email = address
    athlete.email_token_hash = hash_token(token)
    athlete.email_token_expires_at = utcnow() + CONFIRM_TTL
    row = Delivery(channel="email", target=address, athlete_id=athlete_id,
                   event_type=CONFIRM_EVENT, dedupe_key=f"email-confirm:{hash_token(token)[:40]}",
                   payload={"token": box.encrypt(token)})
    s.add(row)
    s.flush()
    return row


def confirmation_to_send(s: Session, box: TokenBox, d: Delivery) -> str | None:
    """The token a confirmation delivery may still send, or None when it is moot (the address
    was confirmed, changed again or expired meanwhile: a late retry must not send a dead link)."""
    athlete = s.get(Athlete, d.athlete_id)
    token = box.decrypt(d.payload["token"])
    if athlete is None or athlete.pending_email != d.target \
            or athlete.email_token_hash != hash_token(token) \
            or athlete.email_token_expires_at is None or athlete.email_token_expires_at < utcnow():
        return None
    return token


def confirm_email(s: Session, token: str) -> None:
    """One use: the token is cleared as the address becomes the runner's email."""
    athlete = s.scalar(select(Athlete).where(Athlete.email_token_hash == hash_token(token)))
    if athlete is None or athlete.email_token_expires_at is None \
            or athlete.email_token_expires_at < utcnow():
        raise NotFound("This confirmation link is unknown, used or expired; add the address "
                       "again on your page.")
    taken = s.scalar(select(Athlete.id).where(Athlete.email == athlete.pending_email,
                                             Athlete.id != athlete.id))
    if taken:
        raise Conflict("Another account uses that address.", code="email_taken")
    athlete.email, athlete.pending_email = athlete.pending_email, None
    athlete.email_token_hash = athlete.email_token_expires_at = None
