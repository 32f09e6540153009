"""Operator commands for clubs and API keys. Keys are printed once and stored only as hashes.

    kneeguard clubs add NAME [--admin EMAIL]       -> {"id", "key", "admin_athlete_id"}
    kneeguard keys add --integrator NAME           -> {"id", "key"}
    kneeguard keys add --club ID [--scopes read]   -> {"id", "key"}
    kneeguard keys list [--club ID]  /  kneeguard keys revoke KEY_ID
"""

from __future__ import annotations

import click

from service.infra.console import emit


def _scopes(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]


@click.group()
def clubs() -> None:
    """Running clubs."""


@clubs.command("add")
@click.argument("name")
@click.option("--admin", "admin_email", default=None, help="The administering runner's email.")
def clubs_add(name: str, admin_email: str | None) -> None:
    """Create a club and an admin API key; prints {"id", "key"} (the key is shown only once)."""
    from service.domain import accounts
    from service.domain import clubs as svc
    from service.errors import ApiError
    from service.infra.console import _runtime

    rt = _runtime()
    try:
        with rt.db.session() as s:
            admin = accounts.get_or_create_athlete(s, admin_email) if admin_email else None
            club = svc.create_club(s, name, admin_athlete_id=admin.id if admin else None)
            row, key = svc.issue_key(s, "club", "admin (cli)", ["read", "admin"], club_id=club.id)
            out = {"id": club.id, "key": key, "key_id": row.id,
                   "admin_athlete_id": admin.id if admin else None}
    except (ApiError, ValueError) as exc:
        raise click.UsageError(str(getattr(exc, "message", exc))) from None
    emit(out)
