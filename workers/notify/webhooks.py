"""Outgoing webhooks following Standard Webhooks v1 (reference/reliability.md §1–2).

Pure pieces (signing, payloads, the retry schedule, outcome classification) plus `send_attempt`,
which makes one guarded HTTP attempt and says what should happen next. The caller (the delivery
job) owns the rows: it stores the body bytes once per message, keeps `msg_id` stable across
attempts and replays, and writes each AttemptResult as an attempt row.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from standardwebhooks import Webhook

from service import netguard

Outcome = Literal["ok", "retry", "disable"]

# Delay before attempts 2..8 (Svix's schedule: about 27.5 h in all). Attempt 1 is immediate.
RETRY_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # ± fraction, so many endpoints failing together do not retry in lock-step
RETRY_AFTER_CAP = 36000  # a receiver cannot push one retry beyond our longest step (10 h)
RESPONSE_CAP = 64 * 1024  # bytes read from a receiver
SNIPPET_CAP = 1024  # characters of the response kept on the attempt row
SECRET_BYTES = 32  # the spec asks for 24–64 random bytes

_EVENT_TYPE = re.compile(r"^[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)+$")
_MSG_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # no "." — it separates the signed fields


@dataclass(frozen=True)
class AttemptResult:
    status: Outcome  # what the attempt means for the endpoint
    code: int | None  # HTTP status, None when no response
    duration_ms: int
    response_snippet: str  # at most SNIPPET_CAP characters, for the attempt log
    error: str | None  # transport or guard error text
    next_delay_s: float | None  # None: no further attempt (success, disabled or exhausted)
    timestamp: int  # the webhook-timestamp this attempt carried

    @property
    def exhausted(self) -> bool:
        """Failed and the schedule has no attempt left: mark the message failed."""
        return self.status == "retry" and self.next_delay_s is None


def new_secret() -> str:
    """A fresh endpoint secret: `whsec_` + base64 of 32 random bytes (shown once, encrypted)."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A message id for the webhook-id header; generate once per message and keep it."""
    # Millisecond prefix: ids sort by creation time in logs and in the receiver's dedupe table.
    return f"msg_{int(time.time() * 1000):012x}{_secrets.token_hex(8)}"


def build_payload(event_type: str, data: Mapping[str, Any], timestamp: datetime) -> bytes:
    """The exact bytes to store and send: compact `{"type","timestamp","data"}` JSON.

    `timestamp` is when the event happened (not the attempt), so every attempt and replay sends
    the same body; only the webhook-timestamp header changes."""
    if not _EVENT_TYPE.match(event_type):
        raise ValueError(f"invalid event type {event_type!r}")
    envelope = {"type": event_type, "timestamp": _iso_utc(timestamp), "data": dict(data)}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def build_headers(msg_id: str, timestamp: datetime, body: bytes,
                  secrets: Sequence[str]) -> dict[str, str]:
    """Standard Webhooks headers; one `v1,` signature per secret (newest first during rotation)."""
    if not _MSG_ID.match(msg_id):
        raise ValueError("msg_id must be 1-128 chars of [A-Za-z0-9_-]")
    if not secrets:
        raise ValueError("at least one secret is needed")
    ts = _as_utc(timestamp)
    text = body.decode("utf-8")
    signatures = " ".join(Webhook(s).sign(msg_id, ts, text) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def _as_utc(ts: datetime) -> datetime:
    # standardwebhooks' sign() does timestamp.replace(tzinfo=utc): an aware non-UTC datetime
    # would be signed hours off (reliability.md §0.10), so convert; naive is refused outright.
    if ts.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return ts.astimezone(UTC)


def _iso_utc(ts: datetime) -> str:
    return _as_utc(ts).isoformat().replace("+00:00", "Z")


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


def classify(outcome: int | BaseException) -> Outcome:
    """2xx → ok; 410 Gone → disable the endpoint; anything else (3xx included) → retry."""
    if isinstance(outcome, BaseException):
        return "retry"
    if 200 <= outcome < 300:
        return "ok"
    return "disable" if outcome == 410 else "retry"


def send_attempt(
    url: str,
    secrets: Sequence[str],
    msg_id: str,
    body: bytes,
    *,
    attempt_number: int = 1,
    allow_loopback: bool = False,
    timeout: tuple[float, float] = (5.0, 15.0),
    now: datetime | None = None,
    rng: random.Random | None = None,
    resolver: netguard.Resolver | None = None,
) -> AttemptResult:
    """One delivery attempt of a stored message body; never raises for receiver/network faults."""
    ts = _as_utc(now or datetime.now(UTC))
    headers = build_headers(msg_id, ts, body, secrets)
    started = time.monotonic()
    try:
        resp = netguard.guarded_post(url, body, headers, allow_loopback=allow_loopback,
                                     timeout=timeout, max_response_bytes=RESPONSE_CAP,
                                     resolver=resolver)
    except (netguard.UnsafeURL, netguard.TransportError) as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return _failed(exc, attempt_number, ts, rng, elapsed)
    status = classify(resp.status)
    retry_after = resp.headers.get("retry-after")
    delay = next_attempt_delay(attempt_number, retry_after, rng, ts) if status == "retry" else None
    return AttemptResult(
        status=status, code=resp.status, duration_ms=resp.duration_ms,
        response_snippet=resp.body_prefix.decode("utf-8", "replace")[:SNIPPET_CAP],
        error=None if status == "ok" else _http_error(resp),
        next_delay_s=delay, timestamp=int(ts.timestamp()),
    )


def _http_error(resp: netguard.GuardedResponse) -> str:
    text = f"HTTP {resp.status}"
    return f"{text} ({resp.read_error})" if resp.read_error else text


def _failed(exc: Exception, attempt_number: int, ts: datetime,
            rng: random.Random | None, duration_ms: int) -> AttemptResult:
    # Transport faults and guard refusals (the name now resolves somewhere private) are ordinary
    # failed attempts: the schedule runs out and the 5-day rule disables the endpoint.
    return AttemptResult(
        status="retry", code=None, duration_ms=duration_ms, response_snippet="",
        error=f"{type(exc).__name__}: {exc}"[:SNIPPET_CAP],
        next_delay_s=next_attempt_delay(attempt_number, None, rng, ts),
        timestamp=int(ts.timestamp()),
    )
