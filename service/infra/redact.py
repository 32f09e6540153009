"""Secrets that travel in URLs, taken out of text before it is logged or stored as an error.

Some links carry their secret in the path, by design (a link in an email or an invite must work on
its own): club invites `/join/<token>` and `/v1/invites/<token>/accept`, email confirmations
`/me/email/confirm/<token>`, one-click unsubscribes `/unsubscribe/<token>`. Garmin's ping
callbacks carry a download token in the query (`activityFile?id=…&token=…`), and OAuth redirects
a `code` and `state`. Whoever reads the access log, the app log or an event's `last_error` must
not be able to use any of them. One function, used by the log formatter, gunicorn's access log
and the places that store an error text.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
# Path segments that are secrets: the segment after these prefixes.
_SECRET_PATH = re.compile(r"(/(?:join|unsubscribe|me/email/confirm|v1/invites)/)([^/?#\s\"'<>]+)")
# Query parameters that are secrets, wherever a URL appears in text.
_SECRET_PARAM = re.compile(
    r"([?&;](?:token|access_token|refresh_token|id_token|code|state|client_secret|"
    r"oauth_token|oauth_verifier|signature|sig|secret|key|api_key|password)=)([^&#\s\"'<>]+)",
    re.IGNORECASE)


def redact(text: str) -> str:
    if not text or ("/" not in text and "=" not in text):
        return text
    text = _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def redact_error(exc: BaseException | str, limit: int = 1000) -> str:
    """An exception's text as it may be stored (`last_error`) or shown: secrets out, bounded."""
    return redact(str(exc))[:limit]
