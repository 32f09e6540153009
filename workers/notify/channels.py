"""The delivery channels, in one explicit table.

A channel is a function `send(rt, delivery) -> Outcome` making one attempt at one Delivery row;
the deliver job (workers/deliver.py) claims the row, calls the channel named by `delivery.channel`
and records the Outcome. Channels are listed here by dotted name, not registered by importing a
module for its side effect, so what exists is readable in one place and nothing depends on
import order (the Strava note sender lives with the Strava handlers, which import the deliver job).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from workers.notify.outcome import Outcome

Sender = Callable[[object, object], Outcome]

CHANNELS: dict[str, str] = {
    "webhook": "workers.notify.webhook_channel:send",
    "email": "workers.notify.email_channel:send",
    "strava_note": "service.integrations.strava.jobs:send_note",
}


def sender(channel: str) -> Sender | None:
    """The send function for a channel, or None for a channel that does not exist."""
    target = CHANNELS.get(channel)
    if target is None:
        return None
    module, name = target.split(":")
    return getattr(import_module(module), name)
