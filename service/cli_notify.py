"""`kneeguard endpoints add` (operator): register an integrator webhook endpoint."""

from __future__ import annotations

import click

from service.cli import emit, main


@main.group()
def endpoints() -> None:
    """Outgoing webhook endpoints."""


@endpoints.command("add")
@click.argument("url")
@click.option("--events", required=True, help="Comma-separated event types, e.g. finding.created")
@click.option("--athlete", "athlete_id", default=None, help="Only this athlete's events.")
@click.option("--club", "club_id", default=None, help="Only events of this club's consenting members.")
@click.option("--owner-email", default=None, help="Who is told when the endpoint is disabled.")
def endpoints_add(url: str, events: str, athlete_id: str | None, club_id: str | None,
                  owner_email: str | None) -> None:
    """Prints {"id", "secret"}; the whsec_ secret is shown only this once."""
    from service import endpoints as svc
    from service.cli import _runtime
    from service.errors import ApiError
    from service.models import Athlete, Club

    if athlete_id and club_id:
        raise click.UsageError("give --athlete or --club, not both")
    rt = _runtime()
    try:
        with rt.db.session() as s:
            if athlete_id and s.get(Athlete, athlete_id) is None:
                raise click.UsageError(f"no athlete {athlete_id}")
            if club_id and s.get(Club, club_id) is None:
                raise click.UsageError(f"no club {club_id}")
            ep, secret = svc.create(
                s, rt.box, url=url, events=[e.strip() for e in events.split(",") if e.strip()],
                allow_loopback=rt.settings.webhook_allow_loopback, athlete_id=athlete_id,
                club_id=club_id, owner_email=owner_email)
            emit({"id": ep.id, "secret": secret})
    except ApiError as exc:
        raise click.UsageError(f"{exc.message} {exc.details or ''}".strip()) from None
