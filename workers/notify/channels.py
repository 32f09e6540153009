"""The delivery channels, in one explicit table.

A channel is a function `send(rt, delivery) -> Outcome` making one attempt at one Delivery row;
the deliver job (workers/deliver.py) claims the row, calls the channel named by `delivery.channel`
and records the Outcome. Channels are listed here, not registered by importing a module for its side
effect, so what exists is readable in one place and nothing depends on import order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workers.notify import email_channel, webhook_channel
from workers.notify.outcome import Outcome

if TYPE_CHECKING:
    from service.models import Delivery

Sender = Callable[[Any, "Delivery"], Outcome]  # (runtime, row)


def _strava_note(rt, delivery) -> Outcome:
    # Imported when a note is sent: the Strava room's jobs module loads its client and DB side.
    from service.integrations.strava.jobs import send_note

    return send_note(rt, delivery)


CHANNELS: dict[str, Sender] = {
    "webhook": webhook_channel.send,
    "email": email_channel.send,
    "strava_note": _strava_note,
}


def sender(channel: str) -> Sender | None:
    """The send function for a channel, or None for a channel that does not exist."""
    return CHANNELS.get(channel)
