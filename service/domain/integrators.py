"""Integrators: who they are, what each runner shares with each of them, their reference for a
runner, and the signed connect links that carry that reference.

Consent is per integrator and per scope (the scopes clubs use for the same events: `findings`,
`distance`, `descent`); `delivery_auth.may_receive` reads it for webhooks, the findings API for
pulls. A grant without scopes still keeps the integrator's reference: knowing who a runner is to
an integrator shares nothing by itself.

A connect link is `/connect/<provider>?integrator=<id>&ref=<their user id>&exp=<unix>&sig=<hex>`,
`sig` = HMAC-SHA256 over `integrator|ref|exp` with a key derived from the server secret, so only
this server (asked by the integrator's key through the API) can mint one, and changing any part
breaks it. No Flask here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.models import ApiKey, Integrator, IntegratorGrant, utcnow

SCOPES: dict[str, str] = {
    "findings": "your warnings (rule, severity, date, the numbers behind them)",
    "distance": "the distance of each analysed run",
    "descent": "the descent of each analysed run",
}
REF_MAX = 200
REF_PATTERN = r"^[\x20-\x7e]{1,200}$"  # printable ASCII: ids, emails, UUIDs
LINK_TTL_S = 7 * 86400
MAX_LINK_TTL_S = 90 * 86400
PROVIDERS = ("strava", "garmin")


class InvalidLink(Exception):
    """A connect link that was altered, forged, or has expired."""


# ---- integrators and their keys -----------------------------------------------------------------


def ensure(s: Session, name: str) -> Integrator:
    """The integrator with this name (created on first use: `kneeguard keys add --integrator`)."""
    found = s.scalar(select(Integrator).where(Integrator.name == name).order_by(
        Integrator.created_at).limit(1))
    if found is None:
        found = Integrator(name=name[:200])
        s.add(found)
        s.flush()
    return found


def of_key(s: Session, key_id: str | None) -> str | None:
    if not key_id:
        return None
    return s.scalar(select(ApiKey.integrator_id).where(ApiKey.id == key_id))


# ---- grants ---------------------------------------------------------------------------------------


def grant(s: Session, athlete_id: str, integrator_id: str) -> IntegratorGrant | None:
    return s.scalar(select(IntegratorGrant).where(IntegratorGrant.athlete_id == athlete_id,
                                                  IntegratorGrant.integrator_id == integrator_id))


def _grant_row(s: Session, athlete_id: str, integrator_id: str) -> IntegratorGrant:
    row = grant(s, athlete_id, integrator_id)
    if row is None:
        row = IntegratorGrant(athlete_id=athlete_id, integrator_id=integrator_id, scopes=[])
        s.add(row)
    return row


def clean_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput("Scopes are `findings`, `distance` and `descent`.",
                           details={"unknown": unknown})
    return sorted(set(scopes))


def set_scopes(s: Session, athlete_id: str, integrator_id: str, scopes) -> IntegratorGrant:
    """What the runner shares with this integrator from now on (empty: nothing)."""
    if s.get(Integrator, integrator_id) is None:
        raise InvalidInput("No such integrator.", code="unknown_integrator")
    row = _grant_row(s, athlete_id, integrator_id)
    row.scopes = clean_scopes(scopes)
    row.consented_at = utcnow() if row.scopes else None
    s.flush()
    return row


def set_ref(s: Session, athlete_id: str, integrator_id: str, ref: str) -> IntegratorGrant:
    row = _grant_row(s, athlete_id, integrator_id)
    row.ref = ref
    s.flush()
    return row


def ref_of(s: Session, athlete_id: str, integrator_id: str | None) -> str | None:
    if not integrator_id:
        return None
    return s.scalar(select(IntegratorGrant.ref).where(
        IntegratorGrant.athlete_id == athlete_id, IntegratorGrant.integrator_id == integrator_id))


def choices(s: Session, athlete_id: str) -> list[dict]:
    """Every integrator on this deployment with what the runner shares with it (for /me, API)."""
    grants = {g.integrator_id: g for g in s.scalars(select(IntegratorGrant).where(
        IntegratorGrant.athlete_id == athlete_id))}
    out = []
    for i in s.scalars(select(Integrator).order_by(Integrator.name, Integrator.id)):
        g = grants.get(i.id)
        out.append({"integrator_id": i.id, "name": i.name,
                    "scopes": list(g.scopes or []) if g else [], "ref": g.ref if g else None,
                    "consented_at": g.consented_at.isoformat() if g and g.consented_at else None})
    return out


# ---- signed connect links ------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    integrator_id: str
    ref: str
    expires: int


def check_ref(ref: str) -> str:
    if not re.fullmatch(REF_PATTERN, ref or ""):
        raise InvalidInput(f"`ref` is 1 to {REF_MAX} printable ASCII characters.")
    return ref


def _signature(secret_key: str, integrator_id: str, ref: str, expires: int) -> str:
    key = hmac.new(secret_key.encode(), b"kneeguard.integrator-link", hashlib.sha256).digest()
    msg = f"{integrator_id}|{ref}|{expires}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def mint(public_url: str, secret_key: str, provider: str, integrator_id: str, ref: str,
         ttl_s: int = LINK_TTL_S, now: float | None = None) -> tuple[str, int]:
    """(url, expires at as a Unix time)."""
    expires = int((now or time.time()) + ttl_s)
    query = urlencode({"integrator": integrator_id, "ref": check_ref(ref), "exp": expires,
                       "sig": _signature(secret_key, integrator_id, ref, expires)})
    return f"{public_url.rstrip('/')}/connect/{provider}?{query}", expires


def verify(secret_key: str, args, now: float | None = None) -> Link:
    """The link's integrator and reference, or InvalidLink (altered, forged, expired)."""
    integrator_id, ref = args.get("integrator", ""), args.get("ref", "")
    exp, sig = args.get("exp", ""), args.get("sig", "")
    if not (integrator_id and ref and exp.isascii() and exp.isdigit() and len(exp) < 12):
        raise InvalidLink("the link is incomplete")
    expected = _signature(secret_key, integrator_id, ref, int(exp))
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise InvalidLink("the link was changed or was not made by this server")
    if int(exp) < (now or time.time()):
        raise InvalidLink("the link has expired")
    return Link(integrator_id, ref, int(exp))
