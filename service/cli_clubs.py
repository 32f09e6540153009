"""Operator commands for clubs and API keys. Keys are printed once and stored only as hashes.

    kneeguard clubs add NAME [--admin EMAIL]       -> {"id", "key", "admin_athlete_id"}
    kneeguard keys add --integrator NAME           -> {"id", "key"}
    kneeguard keys add --club ID [--scopes read]   -> {"id", "key"}
    kneeguard keys list [--club ID]  /  kneeguard keys revoke KEY_ID
"""

from __future__ import annotations

import click

from service.cli import emit, main


def _scopes(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]


@main.group()
def clubs() -> None:
    """Running clubs."""


@clubs.command("add")
@click.argument("name")
@click.option("--admin", "admin_email", default=None, help="The administering runner's email.")
def clubs_add(name: str, admin_email: str | None) -> None:
    """Create a club and an admin API key; prints {"id", "key"} (the key is shown only once)."""
    from service import accounts
    from service import clubs as svc
    from service.cli import _runtime
    from service.errors import ApiError

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


def _keys_group() -> click.Group:
    """`keys` is shared with `keys rotate` (encryption keys, service/cli_strava.py): whichever
    module loads first creates the group, the other adds its commands to it."""
    from service import cli_strava  # noqa: F401  (registers its `keys` group first)

    group = main.commands.get("keys")
    if isinstance(group, click.Group):
        return group

    @main.group("keys")
    def _keys() -> None:
        """Encryption keys, and API keys for club admins and integrators."""

    return _keys


keys = _keys_group()


@keys.command("add")
@click.option("--integrator", "integrator", default=None, metavar="NAME",
              help="An integrator key with this name.")
@click.option("--club", "club_id", default=None, help="A key for this club.")
@click.option("--name", default=None, help="A label for a club key.")
@click.option("--scopes", default="read,admin", show_default=True, help="read and/or admin")
def keys_add(integrator: str | None, club_id: str | None, name: str | None, scopes: str) -> None:
    """Prints {"id", "key"}; the key is shown only this once."""
    from service import clubs as svc
    from service.cli import _runtime
    from service.errors import ApiError
    from service.models import Club

    if bool(integrator) == bool(club_id):
        raise click.UsageError("give exactly one of --integrator NAME or --club ID")
    rt = _runtime()
    try:
        with rt.db.session() as s:
            if club_id and s.get(Club, club_id) is None:
                raise click.UsageError(f"no club {club_id}")
            kind = "club" if club_id else "integrator"
            row, key = svc.issue_key(s, kind, integrator or name, _scopes(scopes), club_id=club_id)
            out = {"id": row.id, "key": key, "kind": kind, "scopes": row.scopes}
    except ApiError as exc:
        raise click.UsageError(exc.message) from None
    emit(out)


@keys.command("list")
@click.option("--club", "club_id", default=None)
def keys_list(club_id: str | None) -> None:
    """Keys (never the keys themselves: prefix, scopes, last use)."""
    from sqlalchemy import select

    from service import clubs as svc
    from service.cli import _runtime
    from service.models import ApiKey

    rt = _runtime()
    with rt.db.session() as s:
        q = select(ApiKey).order_by(ApiKey.created_at)
        if club_id:
            q = q.where(ApiKey.club_id == club_id)
        emit({"keys": [svc.key_view(k) for k in s.scalars(q)]})


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    from service import clubs as svc
    from service.cli import _runtime
    from service.errors import NotFound

    rt = _runtime()
    try:
        with rt.db.session() as s:
            emit(svc.key_view(svc.revoke_key(s, key_id)))
    except NotFound:
        raise click.UsageError(f"no key {key_id}") from None
