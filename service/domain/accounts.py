"""Athletes and their personal API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select

from service.infra.runtime import Runtime
from service.models import Athlete

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


def add_athlete(runtime: Runtime, email: str, token: str | None = None) -> tuple[str, str]:
    """Create the athlete if needed and issue a fresh token (the old one stops working);
    `token`: this one instead of a new one (the demo keeps its runner's token across starts)."""
    token = token or new_token()
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
