"""`kneeguard endpoints …` (operator): add, list, enable, disable, rotate, replay, delete."""

from __future__ import annotations

import click

from service.infra import jobs
from service.infra.console import emit


@click.group()
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
    from service.domain import endpoints as svc
    from service.errors import ApiError
    from service.infra.console import _runtime
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
                allow_loopback=rt.settings.webhook_allow_loopback,
                allow_networks=rt.settings.webhook_allow_networks, athlete_id=athlete_id,
                club_id=club_id, owner_email=owner_email)
            emit({"id": ep.id, "secret": secret})
    except ApiError as exc:
        raise click.UsageError(f"{exc.message} {exc.details or ''}".strip()) from None


# ---- lifecycle: list, enable, disable, rotate, replay, delete -------------------------------------


def _endpoint(s, endpoint_id: str):
    from service.models import Endpoint

    ep = s.get(Endpoint, endpoint_id)
    if ep is None:
        raise click.UsageError(f"no endpoint {endpoint_id}")
    return ep


def _in_session(fn):
    """Run `fn(rt, s)` in one transaction; API errors become usage errors (exit code 2)."""
    from service.errors import ApiError
    from service.infra.console import _runtime

    rt = _runtime()
    try:
        with rt.db.session() as s:
            return rt, fn(rt, s)
    except ApiError as exc:
        raise click.UsageError(f"{exc.message} {exc.details or ''}".strip()) from None


@endpoints.command("list")
def endpoints_list() -> None:
    """Every endpoint with its status, why it was disabled and its last error."""
    from sqlalchemy import select

    from service.domain import endpoints as svc
    from service.models import Endpoint

    def run(rt, s):
        rows = s.scalars(select(Endpoint).order_by(Endpoint.created_at)).all()
        return [svc.view(ep, svc.last_error(s, ep)) for ep in rows]

    emit({"endpoints": _in_session(run)[1]})


@endpoints.command("enable")
@click.argument("endpoint_id")
def endpoints_enable(endpoint_id: str) -> None:
    """Send to it again (its URL is checked again first). Then replay what it missed."""
    from service.domain import endpoints as svc

    def run(rt, s):
        ep = _endpoint(s, endpoint_id)
        svc.check_target(ep.url, rt.settings.webhook_allow_loopback,
                         rt.settings.webhook_allow_networks)
        svc.enable(ep)
        return svc.view(ep)

    emit(_in_session(run)[1])


@endpoints.command("disable")
@click.argument("endpoint_id")
@click.option("--reason", default="disabled by the operator", show_default=True)
def endpoints_disable(endpoint_id: str, reason: str) -> None:
    """Stop sending; pending messages are cancelled (replay them after enabling)."""
    from service.domain import endpoints as svc

    def run(rt, s):
        ep = _endpoint(s, endpoint_id)
        svc.disable(s, ep, reason[:300])
        return svc.view(ep)

    emit(_in_session(run)[1])


@endpoints.command("rotate")
@click.argument("endpoint_id")
@click.option("--overlap-hours", type=click.IntRange(0, 168), default=24, show_default=True,
              help="How long the old secret keeps signing alongside the new one.")
def endpoints_rotate(endpoint_id: str, overlap_hours: int) -> None:
    """Prints {"id", "secret"}: the new whsec_ secret, shown only this once."""
    from datetime import timedelta

    from service.domain import endpoints as svc

    def run(rt, s):
        ep = _endpoint(s, endpoint_id)
        return {"id": ep.id, "secret": svc.rotate(s, rt.box, ep, timedelta(hours=overlap_hours))}

    emit(_in_session(run)[1])


@endpoints.command("replay")
@click.argument("endpoint_id")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S",
                                                      "%Y-%m-%dT%H:%M:%S%z"]), default=None)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S",
                                                      "%Y-%m-%dT%H:%M:%S%z"]), default=None)
@click.option("--message", "message_id", default=None, help="One message id (msg_…).")
def endpoints_replay(endpoint_id: str, since, until, message_id: str | None) -> None:
    """Send messages again (same webhook-id), only those the endpoint may still receive."""
    from service.domain import endpoints as svc

    def run(rt, s):
        return svc.replay(s, _endpoint(s, endpoint_id), message_id=message_id,
                          since=_utc(since), until=_utc(until))

    rt, result = _in_session(run)
    for mid in result["replayed"]:
        jobs.deliver(rt, mid)
    if rt.queue.embedded:
        rt.queue.drain()  # no worker process on the embedded default: send them now
    emit(result)


@endpoints.command("delete")
@click.argument("endpoint_id")
def endpoints_delete(endpoint_id: str) -> None:
    """Delete the endpoint and its message log."""
    from service.domain import endpoints as svc

    def run(rt, s):
        svc.delete(s, _endpoint(s, endpoint_id))
        return {"deleted": endpoint_id}

    emit(_in_session(run)[1])


def _utc(moment):
    from datetime import UTC

    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
