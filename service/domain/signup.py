"""Connect = sign up or sign in. The provider identity that finishes an OAuth flow names the account:

- a signed-in runner who started the flow links the provider to their own account;
- an anonymous visitor is signed into the account already linked to that provider identity, or
  gets a new account keyed by it (no email, no token: the provider is how they come back).

The display name defaults to the provider's first name and last initial ("Ana P."); the runner sees
it on /me before any club does, and a club sees it only if the member agreed when joining. Garmin's
APIs say nothing about the person (only a user id), so a Garmin sign-up starts with a placeholder:
the same pseudonym a club would see anyway ("Runner 3sxc9q"), until the runner sets a name. Not a
name guessed from the email: an address often is a full name or a handle, and the runner would be
shown by it without having chosen to.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Athlete, Connection, new_id

NAME_MAX = 80


def placeholder_name(athlete_id: str) -> str:
    """The stable pseudonym of an athlete: what clubs see when the member shares no name, and the
    display name of an account whose provider told us no name."""
    return f"Runner {athlete_id[-6:]}"


def is_placeholder(athlete: Athlete) -> bool:
    """Still the placeholder: the runner has not chosen a name yet."""
    return athlete.display_name == placeholder_name(athlete.id)


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
    athlete_id = new_id("ath")
    athlete = Athlete(id=athlete_id, display_name=profile_name or placeholder_name(athlete_id),
                      preferences={}, thresholds={})
    s.add(athlete)
    s.flush()
    return athlete.id, True
