"""The outgoing webhook event catalog: each event type, what it means, and its JSON Schema.

The schemas live in `workers/notify/schemas/<type>.schema.json` so integrators read the same files the
tests validate against. Payload envelope: `{"type", "timestamp", "data"}` (Standard Webhooks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str  # what it means
    when: str = ""  # when it is sent
    who: str = ""  # who can receive it (delivery_auth decides)

    @property
    def schema_path(self) -> Path:
        return SCHEMA_DIR / f"{self.name}.schema.json"


_FINDINGS_WHO = ("the athlete's own endpoints; clubs whose member shares `findings`; integrators "
                 "the athlete consented to; never clubs or integrators for Strava-derived data")
_CONNECTION_WHO = ("the athlete's own endpoints; clubs with any consenting membership; integrators "
                   "the athlete consented to; a Strava connection only to the athlete's own")
CATALOG: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("finding.created", "A new finding about an athlete's training (rule, severity, "
                  "value vs threshold, message, evidence, sources). Sent once per finding.",
                  "after an analysis finds something new", _FINDINGS_WHO),
        EventType("finding.withdrawn", "A finding delivered earlier no longer holds after a "
                  "re-analysis; carries the same `id` as its finding.created.",
                  "after a re-analysis drops a finding that was sent; endpoints subscribed to "
                  "finding.created receive it too", _FINDINGS_WHO),
        EventType("activity.analyzed", "An activity was parsed and the athlete's history "
                  "re-analysed; carries the run's knee load (`knee_load_km`, knee-equivalent "
                  "km) and lists the ids of the findings it created.",
                  "after every analysis of an activity",
                  "the athlete's own endpoints; clubs whose member shares `findings`, `distance` "
                  "and `descent`; consented integrators; never for Strava-derived data"),
        EventType("athlete.connected", "An athlete connected a Strava or Garmin account.",
                  "once per connection", _CONNECTION_WHO),
        EventType("athlete.disconnected", "An athlete's provider connection ended "
                  "(deauthorized, user request, operator).",
                  "once per connection, whatever the provider sends afterwards", _CONNECTION_WHO),
        EventType("endpoint.test", "A test message for checking a receiver and its secret.",
                  "when the endpoint's owner asks (POST /v1/endpoints/<id>/test)",
                  "only the endpoint it was asked for"),
    )
}


class PayloadInvalid(ValueError):
    """A payload does not match its event type's schema."""


def event_types() -> list[str]:
    return sorted(CATALOG)


@cache
def schema(event_type: str) -> dict[str, Any]:
    if event_type not in CATALOG:
        raise KeyError(f"unknown event type {event_type!r}")
    return json.loads(CATALOG[event_type].schema_path.read_text("utf-8"))


def validate_payload(event_type: str, payload: dict[str, Any] | bytes) -> None:
    """Raise PayloadInvalid unless `payload` (the envelope, as dict or JSON bytes) fits the schema.

    Needs the `jsonschema` package; imported here so senders that skip validation do not."""
    from jsonschema import Draft202012Validator, FormatChecker

    if isinstance(payload, bytes | bytearray):
        payload = json.loads(payload)
    validator = Draft202012Validator(schema(event_type), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise PayloadInvalid(f"{event_type}: {where}: {errors[0].message}")
