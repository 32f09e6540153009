"""Outgoing webhooks following Standard Webhooks v1 (reference/reliability.md §1–2).

Pure pieces only: signing, ids, the one envelope builder, outcome classification. The guarded
HTTP attempt is the webhook channel's (`service.domain.webhook_channel.send_attempt`, behind the
SSRF guard), so this module needs nothing of the service and the web side may use it to plan. The caller (the
delivery job) owns the rows: it stores the body bytes once per message, keeps `msg_id` stable across
attempts and replays, and writes each Outcome as an attempt row.
"""

from __future__ import annotations

import base64
import json
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from standardwebhooks import Webhook

from workers.notify.outcome import (  # noqa: F401  (the retry policy, re-exported for callers)
    JITTER,
    RETRY_AFTER_CAP,
    RETRY_SCHEDULE,
    Outcome,
    after_failure,
    next_attempt_delay,
    parse_retry_after,
)

RESPONSE_CAP = 64 * 1024  # bytes read from a receiver
SNIPPET_CAP = 1024  # characters of the response kept on the attempt row
SECRET_BYTES = 32  # the spec asks for 24–64 random bytes

_EVENT_TYPE = re.compile(r"^[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)+$")
_MSG_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # no "." — it separates the signed fields


def new_secret() -> str:
    """A fresh endpoint secret: `whsec_` + base64 of 32 random bytes (shown once, encrypted)."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A message id for the webhook-id header; generate once per message and keep it."""
    # Millisecond prefix: ids sort by creation time in logs and in the receiver's dedupe table.
    return f"msg_{int(time.time() * 1000):012x}{_secrets.token_hex(8)}"


def envelope(event_type: str, data: Mapping[str, Any], timestamp: datetime) -> dict[str, Any]:
    """The one message envelope `{"type","timestamp","data"}` (Standard Webhooks), as stored on the
    delivery row. `timestamp` is when the event happened (not the attempt), so every attempt and
    replay sends the same body; only the webhook-timestamp header changes."""
    if not _EVENT_TYPE.match(event_type):
        raise ValueError(f"invalid event type {event_type!r}")
    return {"type": event_type, "timestamp": _iso_utc(timestamp), "data": dict(data)}


def encode(message: Mapping[str, Any]) -> bytes:
    """The exact bytes to send for a stored envelope: compact JSON, keys in envelope order."""
    if not _EVENT_TYPE.match(str(message.get("type", ""))):
        raise ValueError(f"invalid event type {message.get('type')!r}")
    ordered = {"type": message["type"], "timestamp": message["timestamp"],
               "data": dict(message["data"])}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def build_payload(event_type: str, data: Mapping[str, Any], timestamp: datetime) -> bytes:
    return encode(envelope(event_type, data, timestamp))


def build_headers(msg_id: str, timestamp: datetime, body: bytes,
                  secrets: Sequence[str]) -> dict[str, str]:
    """Standard Webhooks headers; one `v1,` signature per secret (newest first during rotation)."""
    if not _MSG_ID.match(msg_id):
        raise ValueError("msg_id must be 1-128 chars of [A-Za-z0-9_-]")
    if not secrets:
        raise ValueError("at least one secret is needed")
    ts = as_utc(timestamp)
    text = body.decode("utf-8")
    signatures = " ".join(Webhook(s).sign(msg_id, ts, text) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def as_utc(ts: datetime) -> datetime:
    # standardwebhooks' sign() does timestamp.replace(tzinfo=utc): an aware non-UTC datetime
    # would be signed hours off (reliability.md §0.10), so convert; naive is refused outright.
    if ts.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return ts.astimezone(UTC)


def _iso_utc(ts: datetime) -> str:
    return as_utc(ts).isoformat().replace("+00:00", "Z")


def classify(outcome: int | BaseException) -> Literal["ok", "retry", "disabled"]:
    """2xx → ok; 410 Gone → disable the endpoint; anything else (3xx included) → retry."""
    if isinstance(outcome, BaseException):
        return "retry"
    if 200 <= outcome < 300:
        return "ok"
    return "disabled" if outcome == 410 else "retry"
