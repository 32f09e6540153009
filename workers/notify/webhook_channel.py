"""The webhook channel: authorize again, then one signed attempt at the endpoint.

Consent may have been withdrawn (or an endpoint disabled) between planning and sending, so the
one authorization check (service/domain/delivery_auth.py) runs again here: a delivery it refuses is
cancelled, never sent.
"""

from __future__ import annotations

from service.domain import delivery_auth
from service.models import Delivery, Endpoint, utcnow
from workers.notify import webhooks
from workers.notify.outcome import Outcome


def send(rt, d: Delivery) -> Outcome:
    with rt.db.session() as s:
        ep = s.get(Endpoint, d.target)
        if ep is None or ep.status != "active":
            return Outcome("cancelled", error="endpoint deleted or disabled")
        verdict = authorize(s, ep, d)
        if not verdict:
            return Outcome("cancelled", error=f"not authorized any more: {verdict.reason}")
        secrets = active_secrets(rt.box, ep)
        url = ep.url
    return webhooks.send_attempt(url, secrets, d.id, webhooks.encode(d.payload),
                                 attempt_number=d.attempt_count,
                                 allow_loopback=rt.settings.webhook_allow_loopback,
                                 verify=rt.settings.webhook_ca_bundle or True)


def authorize(s, ep: Endpoint, d: Delivery) -> delivery_auth.Verdict:
    data = (d.payload or {}).get("data") or {}
    sources = delivery_auth.event_sources(d.event_type, data)
    return delivery_auth.may_receive(s, ep, d.event_type, d.athlete_id, sources)


def active_secrets(box, ep: Endpoint) -> list[str]:
    """The current secret, plus the previous one while its rotation overlap lasts."""
    secrets = [box.decrypt(ep.secret_enc)]
    if ep.previous_secret_enc and ep.previous_expires_at and ep.previous_expires_at > utcnow():
        secrets.append(box.decrypt(ep.previous_secret_enc))
    return secrets
