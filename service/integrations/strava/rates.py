"""Strava rate limits: parse the headers, and plan when the next call may go.

Pure code: no HTTP, no storage. The caller feeds `RateLimitState.from_headers(resp.headers, now)`
after every response (StravaClient's `on_response` hook), keeps the newest state wherever it likes
(Redis, DB; `to_dict`/`from_dict` round-trip it), and asks `RateGovernor.wait_seconds(...)` before
each call.

Reference: https://developers.strava.com/docs/rate-limits/
- limits are per application: a 15-minute window and a daily window;
- the 15-minute window resets at :00, :15, :30, :45; the daily one at midnight UTC;
- `X-RateLimit-Limit`/`-Usage` (overall) and `X-ReadRateLimit-Limit`/`-Usage` ("non-upload": every
  endpoint but uploads, so GET *and* PUT /activities/{id}) each read "<15-min>,<daily>";
- requests over the limit get 429 and still count; no Retry-After header is documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Priority = Literal["live", "backfill"]
QUARTER = timedelta(minutes=15)


def _pair(value: str | None) -> tuple[int, int] | None:
    """'600,30000' -> (600, 30000); anything malformed -> None (never crash on a header)."""
    if not value:
        return None
    parts = value.split(",")
    if len(parts) != 2:
        return None
    try:
        return int(parts[0].strip()), int(parts[1].strip())
    except ValueError:
        return None


def window_start(now: datetime) -> datetime:
    """Start of the natural 15-minute window containing `now` (UTC)."""
    now = now.astimezone(UTC)
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


def next_quarter_hour(now: datetime) -> datetime:
    return window_start(now) + QUARTER


def next_utc_midnight(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _seconds_until(when: datetime, now: datetime) -> float:
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class Bucket:
    """One limit/usage pair (short = 15 minutes, daily)."""

    limit_short: int
    limit_daily: int
    usage_short: int
    usage_daily: int

    def short_fraction(self) -> float:
        return self.usage_short / self.limit_short if self.limit_short > 0 else 1.0

    def daily_fraction(self) -> float:
        return self.usage_daily / self.limit_daily if self.limit_daily > 0 else 1.0


def _bucket(lowered: Mapping[str, str], prefix: str) -> Bucket | None:
    limit = _pair(lowered.get(f"{prefix}-limit"))
    usage = _pair(lowered.get(f"{prefix}-usage"))
    if limit is None or usage is None:
        return None
    return Bucket(limit[0], limit[1], usage[0], usage[1])


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """What the last response said about the app's budget, and when it said it."""

    observed_at: datetime
    overall: Bucket | None = None
    read: Bucket | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: datetime) -> RateLimitState | None:
        """Parse both header families; None when the response carried neither (e.g. /oauth/*).
        Names are matched case-insensitively: both `X-RateLimit-Limit` and `X-Ratelimit-Limit` are
        seen in the wild."""
        lowered = {k.lower(): v for k, v in headers.items()}
        overall = _bucket(lowered, "x-ratelimit")
        read = _bucket(lowered, "x-readratelimit")
        if overall is None and read is None:
            return None
        return cls(observed_at=now.astimezone(UTC), overall=overall, read=read)

    def buckets(self) -> list[Bucket]:
        return [b for b in (self.overall, self.read) if b is not None]

    def to_dict(self) -> dict:
        return {"observed_at": self.observed_at.isoformat(),
                "overall": asdict(self.overall) if self.overall else None,
                "read": asdict(self.read) if self.read else None}

    @classmethod
    def from_dict(cls, data: Mapping) -> RateLimitState:
        return cls(observed_at=datetime.fromisoformat(data["observed_at"]),
                   overall=Bucket(**data["overall"]) if data.get("overall") else None,
                   read=Bucket(**data["read"]) if data.get("read") else None)


def retry_after_429(state: RateLimitState | None, now: datetime) -> float:
    """Seconds to wait after a 429: to UTC midnight when a daily budget is spent, else to the next
    quarter hour (the short window is the usual culprit; with no headers it is the safe guess)."""
    if state is not None and any(b.usage_daily >= b.limit_daily for b in state.buckets()):
        return _seconds_until(next_utc_midnight(now), now)
    return _seconds_until(next_quarter_hour(now), now)


@dataclass(frozen=True, slots=True)
class RateGovernor:
    """Plans calls for the whole app from the newest RateLimitState.

    Live work (a webhook event for a runner who just finished) may spend the budget to the last
    call; backfill stops at `backfill_short_share` of each 15-minute budget and
    `backfill_daily_share` of each daily budget, so a burst of live events always finds room.
    """

    backfill_short_share: float = 0.8
    backfill_daily_share: float = 0.8

    def wait_seconds(self, state: RateLimitState | None, priority: Priority,
                     now: datetime) -> float:
        """0.0 = call now; otherwise how long to wait before trying again."""
        if state is None:
            return 0.0
        short_cap, daily_cap = self._caps(priority)
        same_window = window_start(state.observed_at) == window_start(now)
        same_day = state.observed_at.astimezone(UTC).date() == now.astimezone(UTC).date()
        wait = 0.0
        for b in state.buckets():
            # Usage seen in an earlier window/day has been reset by Strava since: ignore it.
            if same_day and b.usage_daily >= b.limit_daily * daily_cap:
                wait = max(wait, _seconds_until(next_utc_midnight(now), now))
            elif same_window and b.usage_short >= b.limit_short * short_cap:
                wait = max(wait, _seconds_until(next_quarter_hour(now), now))
        return wait

    def _caps(self, priority: Priority) -> tuple[float, float]:
        if priority == "live":
            return 1.0, 1.0
        if priority == "backfill":
            return self.backfill_short_share, self.backfill_daily_share
        raise ValueError(f"unknown priority {priority!r}")
