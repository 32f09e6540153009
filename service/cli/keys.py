"""`kneeguard keys`: API keys (printed once, stored only as hashes) and encryption-key rotation.

    kneeguard keys add --integrator NAME           -> {"id", "key"}
    kneeguard keys add --club ID [--scopes read]   -> {"id", "key"}
    kneeguard keys list [--club ID]  /  kneeguard keys revoke KEY_ID  /  kneeguard keys rotate
    kneeguard keys generate [--keep-current] [--json]  -> .env lines with fresh secrets
"""

from __future__ import annotations

import click

from service.infra.console import _runtime, emit


def _scopes(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]


@click.group()
def keys() -> None:
    """Encryption keys (KNEEGUARD_ENCRYPTION_KEYS), and API keys for club admins and integrators."""


@keys.command("rotate")
def rotate() -> None:
    """Re-encrypt every token and webhook secret with the newest key; then the old key can go."""
    from service.domain.secrets import rotate_keys

    emit(rotate_keys(_runtime()))


@keys.command("generate")
@click.option("--keep-current", is_flag=True,
              help="Keep the keys now in KNEEGUARD_ENCRYPTION_KEYS after the new one (a rotation: "
                   "deploy these, then `kneeguard keys rotate`, then drop the old ones).")
@click.option("--json", "as_json", is_flag=True, help="Print {\"secret_key\", \"encryption_keys\"}.")
def generate(keep_current: bool, as_json: bool) -> None:
    """Print a fresh KNEEGUARD_SECRET_KEY and KNEEGUARD_ENCRYPTION_KEYS as .env lines (nothing is
    stored, no database is needed): `kneeguard keys generate >> .env`."""
    import os
    import secrets

    from cryptography.fernet import Fernet

    encryption = [Fernet.generate_key().decode()]
    if keep_current:
        current = os.environ.get("KNEEGUARD_ENCRYPTION_KEYS", "")
        encryption += [k.strip() for k in current.split(",") if k.strip()]
    secret = secrets.token_urlsafe(48)
    if as_json:
        emit({"secret_key": secret, "encryption_keys": encryption})
        return
    click.echo(f"KNEEGUARD_SECRET_KEY={secret}\nKNEEGUARD_ENCRYPTION_KEYS={','.join(encryption)}")


@keys.command("add")
@click.option("--integrator", "integrator", default=None, metavar="NAME",
              help="An integrator key with this name.")
@click.option("--club", "club_id", default=None, help="A key for this club.")
@click.option("--name", default=None, help="A label for a club key.")
@click.option("--scopes", default="read,admin", show_default=True, help="read and/or admin")
def keys_add(integrator: str | None, club_id: str | None, name: str | None, scopes: str) -> None:
    """Prints {"id", "key"}; the key is shown only this once."""
    from service.domain import clubs as svc
    from service.errors import ApiError
    from service.infra.console import _runtime
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

    from service.domain import clubs as svc
    from service.infra.console import _runtime
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
    from service.domain import clubs as svc
    from service.errors import NotFound
    from service.infra.console import _runtime

    rt = _runtime()
    try:
        with rt.db.session() as s:
            emit(svc.key_view(svc.revoke_key(s, key_id)))
    except NotFound:
        raise click.UsageError(f"no key {key_id}") from None
