"""What one delivery attempt on any channel (webhook, email, Strava note) means, and when to retry.

One `Outcome` type for every channel, and one retry policy (the Standard Webhooks / Svix schedule,
reference/reliability.md §1) so a failed email or note is retried on the same clock as a webhook.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

Status = Literal["ok", "retry", "failed", "disabled", "cancelled"]

# Delay before attempts 2..8 (Svix's schedule: about 27.5 h in all). Attempt 1 is immediate.
RETRY_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # ± fraction, so many endpoints failing together do not retry in lock-step
RETRY_AFTER_CAP = 36000  # a receiver cannot push one retry beyond our longest step (10 h)


@dataclass(frozen=True)
class Outcome:
    """ok: delivered · retry: try again after `next_delay_s` · failed: give up (schedule spent or
    a permanent refusal) · disabled: the endpoint said 410 Gone · cancelled: nothing to send any
    more (target gone, consent withdrawn, channel switched off)."""

    status: Status
    code: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    snippet: str | None = None
    next_delay_s: float | None = None

    @property
    def exhausted(self) -> bool:
        return self.status == "failed"


def after_failure(attempt_number: int, *, code: int | None = None, error: str | None = None,
                  snippet: str | None = None, duration_ms: float | None = None,
                  retry_after: str | float | None = None, rng: random.Random | None = None,
                  now: datetime | None = None) -> Outcome:
    """The one retry policy: retry on the schedule (a Retry-After may lengthen the wait), or
    `failed` when the schedule is spent."""
    header = str(int(retry_after)) if isinstance(retry_after, int | float) else retry_after
    delay = next_attempt_delay(attempt_number, header, rng, now)
    return Outcome("retry" if delay is not None else "failed", code=code, duration_ms=duration_ms,
                   error=error, snippet=snippet, next_delay_s=delay)


def next_attempt_delay(
    attempt_number: int,
    retry_after_header: str | None = None,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> float | None:
    """Seconds to wait after failed attempt `attempt_number` (1 = the first), None when done.

    The scheduled step gets ±JITTER; a Retry-After (seconds or HTTP-date) can only lengthen the
    wait, never shorten it, and is capped at RETRY_AFTER_CAP."""
    if attempt_number < 1 or attempt_number > len(RETRY_SCHEDULE):
        return None
    rng = rng or random.Random()
    delay = RETRY_SCHEDULE[attempt_number - 1] * (1 + rng.uniform(-JITTER, JITTER))
    asked = parse_retry_after(retry_after_header, now)
    if asked is not None:
        delay = max(delay, min(asked, RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
