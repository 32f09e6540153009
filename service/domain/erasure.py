"""Delete my data: a runner's account and everything derived from it, at once.

Provider connections are disconnected first (best effort upstream: Strava deauthorisation, Garmin
deregistration), then the athlete row goes and the database cascades to activities, raw files,
findings, deliveries, endpoints and club memberships. Copies outside those rows go too: the
runner's .eml files in the outbox, and (SQLite) the WAL, checkpointed and truncated at once.
"""

from __future__ import annotations

import logging
from email.parser import BytesHeaderParser
from email.policy import default
from pathlib import Path

from sqlalchemy import delete, or_, select

from service.domain.providers import Providers
from service.infra.db import changed
from service.infra.runtime import Runtime
from service.models import Athlete, Connection, Delivery, OAuthState

log = logging.getLogger(__name__)


def delete_athlete(rt: Runtime, athlete_id: str, hooks: Providers) -> dict:
    with rt.db.session() as s:
        providers = set(s.scalars(select(Connection.provider).where(
            Connection.athlete_id == athlete_id)).all())
    upstream = {name: _disconnect(rt, name, athlete_id, hooks) for name in sorted(providers)}
    with rt.db.session() as s:
        mails = _email_ids(s, athlete_id)
        addresses = _addresses(s, athlete_id)
        s.execute(delete(OAuthState).where(OAuthState.athlete_id == athlete_id))
        deleted = changed(s.execute(delete(Athlete).where(Athlete.id == athlete_id)))
    removed = _remove_outbox_files(rt.settings.email_outbox_dir, mails)
    removed += _remove_mail_about(rt.settings.email_outbox_dir, addresses)
    rt.db.checkpoint()
    log.info("athlete erased", extra={"athlete": athlete_id, "outbox_files": removed})
    return {"deleted": bool(deleted), "athlete_id": athlete_id, "providers": upstream}


def _email_ids(s, athlete_id: str) -> list[str]:
    """Every email delivery to this runner (findings, and notices sent to their address)."""
    email = s.scalar(select(Athlete.email).where(Athlete.id == athlete_id))
    to_them = or_(Delivery.athlete_id == athlete_id,
                  Delivery.target == email) if email else Delivery.athlete_id == athlete_id
    return list(s.scalars(select(Delivery.id).where(Delivery.channel == "email", to_them)))


def _remove_outbox_files(outbox_dir: str, delivery_ids: list[str]) -> int:
    """The outbox names each message `<delivery id>.eml` (workers/notify/email.py)."""
    removed = 0
    for delivery_id in delivery_ids:
        try:
            (Path(outbox_dir) / f"{delivery_id}.eml").unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def _addresses(s, athlete_id: str) -> tuple[set[str], set[str]]:
    """(the confirmed address, the address waiting for confirmation)."""
    row = s.execute(select(Athlete.email, Athlete.pending_email).where(
        Athlete.id == athlete_id)).first()
    email, pending = row or (None, None)
    return {email.lower()} if email else set(), {pending.lower()} if pending else set()


def _remove_mail_about(outbox_dir: str, addresses: tuple[set[str], set[str]]) -> int:
    """Mail files no delivery row of this runner names: any message to the runner's confirmed
    address (no other account can hold it), and confirmation mail written by older versions
    (`confirm-<hash>.eml`, no delivery row) to the address waiting for confirmation."""
    folder = Path(outbox_dir)
    if not folder.is_dir():
        return 0
    confirmed, pending = addresses
    removed = 0
    for path in folder.glob("*.eml"):
        to = _to(path)
        if to & confirmed or (path.name.startswith("confirm-") and to & pending):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _to(path: Path) -> set[str]:
    try:
        with path.open("rb") as fh:
            headers = BytesHeaderParser(policy=default).parse(fh)
    except OSError:
        return set()
    return {a.addr_spec.lower() for a in getattr(headers["To"], "addresses", ())}


def _disconnect(rt: Runtime, provider: str, athlete_id: str, providers: Providers) -> str:
    hooks = providers.get(provider)
    if hooks is None or hooks.disconnect is None:  # switched off here: nothing to tell upstream
        return "local_only"
    try:
        hooks.disconnect(rt, athlete_id)
    except Exception as exc:  # the local data goes whatever the provider answers
        log.warning("disconnect before deletion failed",
                    extra={"provider": provider, "error": type(exc).__name__})
        return "upstream_failed"
    return "disconnected"
