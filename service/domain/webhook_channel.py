"""The webhook channel: authorize again, then one signed attempt at the endpoint.

Consent may have been withdrawn (or an endpoint disabled) between planning and sending, so the
one authorization check (service/domain/delivery_auth.py) runs again here: a delivery it refuses is
cancelled, never sent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from service.domain import delivery_auth
from service.infra import netguard
from service.models import Delivery, Endpoint, utcnow
from workers.notify import webhooks
from workers.notify.outcome import Outcome, after_failure


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
    return send_attempt(url, secrets, d.id, webhooks.encode(d.payload),
                        attempt_number=d.attempt_count,
                        allow_loopback=rt.settings.webhook_allow_loopback,
                        allow_networks=rt.settings.webhook_allow_networks,
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
    verify: bool | str = True,
    allow_networks: netguard.Networks = (),
) -> Outcome:
    """One delivery attempt of a stored message body; never raises for receiver/network faults.

    `verify`: True (certifi's CAs) or the path of a PEM bundle (WEBHOOK_CA_BUNDLE)."""
    ts = webhooks.as_utc(now or datetime.now(UTC))
    headers = webhooks.build_headers(msg_id, ts, body, secrets)
    started = time.monotonic()
    try:
        resp = netguard.guarded_post(url, body, headers, allow_loopback=allow_loopback,
                                     timeout=timeout, max_response_bytes=webhooks.RESPONSE_CAP,
                                     resolver=resolver, verify=verify,
                                     allow_networks=allow_networks)
    except (netguard.UnsafeURL, netguard.TransportError) as exc:
        # Transport faults and guard refusals (the name now resolves somewhere private) are
        # ordinary failed attempts: the schedule runs out and the 5-day rule disables the endpoint.
        return after_failure(attempt_number, error=f"{type(exc).__name__}: {exc}"[:webhooks.SNIPPET_CAP],
                             snippet="", duration_ms=int((time.monotonic() - started) * 1000),
                             rng=rng, now=ts)
    status = webhooks.classify(resp.status)
    snippet = resp.body_prefix.decode("utf-8", "replace")[:webhooks.SNIPPET_CAP]
    if status == "retry":
        return after_failure(attempt_number, code=resp.status, error=_http_error(resp),
                             snippet=snippet, duration_ms=resp.duration_ms,
                             retry_after=resp.headers.get("retry-after"), rng=rng, now=ts)
    return Outcome(status, code=resp.status, duration_ms=resp.duration_ms, snippet=snippet,
                   error=None if status == "ok" else _http_error(resp))


def _http_error(resp: netguard.GuardedResponse) -> str:
    text = f"HTTP {resp.status}"
    return f"{text} ({resp.read_error})" if resp.read_error else text
