"""The small interface every provider module implements.

Provider code does no Flask or database work: it takes tokens and plain values, talks HTTP through
`service.infra.http`, and returns these dataclasses. Errors say whether retrying can help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from service.domain.reanalysis import Later

if TYPE_CHECKING:  # the handlers' type only: nothing here touches a database
    from sqlalchemy.orm import Session


class ProviderError(Exception):
    """A provider call failed. `permanent=True` means retrying the same call will not help."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after  # seconds to wait before the next call, when the provider said


class AuthRevoked(ProviderError):
    """The user revoked access or the refresh token is no longer valid: stop using this connection."""

    def __init__(self, message: str = "authorization revoked") -> None:
        super().__init__(message, permanent=True, status=401)


class InsufficientScope(ProviderError):
    """The token is valid but lacks a permission the call needs (the user unticked a scope): the
    connection stays, this feature does not work until the user re-authorizes with more scopes."""

    def __init__(self, message: str = "insufficient scope", *, scope: str | None = None) -> None:
        super().__init__(message, permanent=True, status=401)
        self.scope = scope


class RateLimited(ProviderError):
    """The provider's rate limit is exhausted; `retry_after` says how long to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, permanent=False, status=429, retry_after=retry_after)


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime  # timezone-aware UTC
    scopes: frozenset[str] = frozenset()
    provider_user_id: str | None = None  # Strava athlete id / Garmin user id, when the exchange says
    refresh_expires_at: datetime | None = None  # when the refresh token dies, if the provider says
    profile_name: str | None = None  # e.g. "Ana P." from Strava's token response (sign-up default)


@dataclass(slots=True)
class RemoteActivity:
    """An activity summary as the provider describes it (enough for the load rules)."""

    provider_id: str
    start_time: datetime
    sport: str | None  # normalised: "running", "cycling", "walking", "hiking", … or None
    sub_sport: str | None = None  # "trail", "track", "treadmill", "virtual", …
    name: str | None = None
    distance_m: float | None = None
    moving_time_s: float | None = None
    elevation_gain_m: float | None = None
    elevation_loss_m: float | None = None
    manual: bool = False
    private: bool = False
    has_gps: bool = True
    gear_id: str | None = None
    description: str | None = None  # only in detailed representations (Strava DetailedActivity)
    raw: dict[str, Any] = field(default_factory=dict)


# What an event handler raises when the event is not to be processed now (workers/ingest.py
# records it); here, beside ProviderError, so handlers need nothing of the job that runs them.
class Dropped(Exception):
    """Raised by a handler when the event is not for us any more (e.g. connection revoked)."""


class Paused(Exception):
    """Raised by a handler when the event must wait (e.g. the runner paused sharing): the row is
    parked as `paused` until whatever ends the pause sets it back to `received`."""


# An inbound-event handler (listed in workers/ingest.py) is `(runtime, event) -> Write`: it reads in
# short sessions of its own and calls the provider with no transaction open, then returns what to
# write; the ingest job applies it in one transaction with the event's new status. A run the
# provider describes is a domain `Arrival` (service.domain.arrivals), so the job's write enters
# the domain, not the provider's package a second time. A write answers what to do after the
# commit (`Later`: runs to analyse, histories, deliveries).
class Write(Protocol):
    """A callable on the event's session (a Protocol, so a domain `Arrival` tuple is one too)."""

    def __call__(self, s: Session, /) -> Later: ...


def nothing(s: Session) -> Later:
    """The write of a handler that found nothing to change."""
    return Later()
