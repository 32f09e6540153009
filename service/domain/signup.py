"""Connect = sign up or sign in. The provider identity that finishes an OAuth flow names the account:

- a signed-in runner who started the flow links the provider to their own account;
- an anonymous visitor is signed into the account already linked to that provider identity, or
  gets a new account keyed by it (no email, no token: the provider is how they come back).

The display name defaults to the provider's first name and last initial ("Ana P."); the runner sees
it on /me before any club does, and a club sees it only if the member agreed when joining.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Athlete, Connection

NAME_MAX = 80


def clean_display_name(value: str) -> str:
    """What a runner typed, made safe to show: printable, single-spaced, at most 80 characters."""
    text = " ".join("".join(c for c in value if c.isprintable()).split())
    if not text:
        raise ValueError("A display name cannot be empty.")
    return text[:NAME_MAX]


def account_for(s: Session, provider: str, provider_user_id: str, athlete_id: str | None,
                profile_name: str | None = None) -> tuple[str, bool]:
    """(athlete id, created?) for a finished connect. Linking (athlete_id given) keeps the caller's
    account; the provider module refuses identities linked to someone else."""
    if athlete_id is not None:
        return athlete_id, False
    linked = s.scalar(select(Connection.athlete_id).where(
        Connection.provider == provider, Connection.provider_user_id == provider_user_id))
    if linked is not None:
        return linked, False
    athlete = Athlete(display_name=profile_name, preferences={}, thresholds={})
    s.add(athlete)
    s.flush()
    return athlete.id, True
