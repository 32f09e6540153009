"""Webhook endpoints of the calling principal: create, list, read, delete, rotate, test, replay."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from sqlalchemy import and_, select

from service.domain import endpoints
from service.domain.principal import Principal, require_scope
from service.errors import NotFound
from service.infra import jobs
from service.models import Delivery, DeliveryAttempt, Endpoint
from service.web.auth import principal
from service.web.bodies import strict_json

bp = Blueprint("endpoints", __name__, url_prefix="/v1/endpoints")


class CreateEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl
    events: list[str] = Field(min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=300)


class Rotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_seconds: int = Field(default=86400, ge=0, le=7 * 86400)


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def parse(model: type[BaseModel]):
    """Every JSON API body goes through here: strict (service.web.bodies.strict_json)."""
    return strict_json(model)


def _runtime():
    return current_app.extensions["kneeguard"]


def _scope(p: Principal):
    """The endpoints this principal owns: a runner's own, a club key's club's, an integrator key's
    own (operator-wide) ones. Another tenant's endpoint is indistinguishable from a missing one."""
    if p.kind == "athlete":
        return Endpoint.athlete_id == p.athlete_id
    if p.kind == "club":
        return Endpoint.club_id == p.club_id
    return and_(Endpoint.owner_key_id == p.key_id, Endpoint.athlete_id.is_(None),
                Endpoint.club_id.is_(None))


def _caller(need: str | None = "read") -> Principal:
    p = principal()
    if p.kind not in ("athlete", "club", "integrator"):
        raise NotFound("Endpoint not found.")
    if need:
        require_scope(p, need)
    return p


def _owned(s, endpoint_id: str, need: str = "admin") -> Endpoint:
    # Tenancy before scope: another tenant's endpoint is a 404 whatever the key may do.
    p = _caller(None)
    ep = s.scalar(select(Endpoint).where(Endpoint.id == endpoint_id, _scope(p)))
    if ep is None:
        raise NotFound("Endpoint not found.")
    require_scope(p, need)
    return ep


@bp.post("")
def create():
    p = _caller("admin")
    body = parse(CreateEndpoint)
    rt = _runtime()
    with rt.db.session() as s:
        ep, secret = endpoints.create(
            s, rt.box, url=str(body.url), events=body.events, description=body.description,
            allow_loopback=rt.settings.webhook_allow_loopback,
            allow_networks=rt.settings.webhook_allow_networks,
            athlete_id=p.athlete_id if p.kind == "athlete" else None,
            club_id=p.club_id if p.kind == "club" else None)
        ep.owner_key_id = p.key_id
        return dict(endpoints.view(ep), secret=secret), 201


@bp.get("")
def list_endpoints():
    p = _caller("read")
    with _runtime().db.session() as s:
        rows = s.scalars(select(Endpoint).where(_scope(p))
                         .order_by(Endpoint.created_at)).all()
        return {"endpoints": [endpoints.view(e, endpoints.last_error(s, e)) for e in rows]}


@bp.get("/<endpoint_id>")
def get_endpoint(endpoint_id: str):
    with _runtime().db.session() as s:
        ep = _owned(s, endpoint_id, need="read")
        return endpoints.view(ep, endpoints.last_error(s, ep))


@bp.delete("/<endpoint_id>")
def delete_endpoint(endpoint_id: str):
    with _runtime().db.session() as s:
        endpoints.delete(s, _owned(s, endpoint_id))
    return "", 204


@bp.post("/<endpoint_id>/rotate")
def rotate(endpoint_id: str):
    body = parse(Rotate)
    rt = _runtime()
    with rt.db.session() as s:
        ep = _owned(s, endpoint_id)
        secret = endpoints.rotate(s, rt.box, ep, timedelta(seconds=body.overlap_seconds))
        return dict(endpoints.view(ep), secret=secret)


@bp.post("/<endpoint_id>/enable")
def enable(endpoint_id: str):
    with _runtime().db.session() as s:
        ep = _owned(s, endpoint_id)
        settings = _runtime().settings
        endpoints.check_target(ep.url, settings.webhook_allow_loopback,
                               settings.webhook_allow_networks)
        endpoints.enable(ep)
        return endpoints.view(ep)


@bp.post("/<endpoint_id>/disable")
def disable(endpoint_id: str):
    with _runtime().db.session() as s:
        ep = _owned(s, endpoint_id)
        endpoints.disable(s, ep)
        return endpoints.view(ep, endpoints.last_error(s, ep))


@bp.post("/<endpoint_id>/test")
def send_test(endpoint_id: str):
    rt = _runtime()
    with rt.db.session() as s:
        row = endpoints.send_test(s, _owned(s, endpoint_id))
        message_id = row.id
    jobs.deliver(rt, message_id)
    return {"message_id": message_id}, 202


@bp.post("/<endpoint_id>/replay")
def replay(endpoint_id: str):
    body = parse(Replay)
    rt = _runtime()
    with rt.db.session() as s:
        result = endpoints.replay(s, _owned(s, endpoint_id), message_id=body.message_id,
                                  since=body.since, until=body.until)
    for message_id in result["replayed"]:
        jobs.deliver(rt, message_id)
    return result, 202


@bp.get("/<endpoint_id>/messages")
def messages(endpoint_id: str):
    with _runtime().db.session() as s:
        ep = _owned(s, endpoint_id, need="read")
        rows = s.scalars(select(Delivery).where(Delivery.target == ep.id)
                         .order_by(Delivery.created_at.desc()).limit(100)).all()
        return {"messages": [endpoints.message_view(d) for d in rows]}


@bp.get("/<endpoint_id>/messages/<message_id>")
def message(endpoint_id: str, message_id: str):
    with _runtime().db.session() as s:
        ep = _owned(s, endpoint_id, need="read")
        d = s.scalar(select(Delivery).where(Delivery.id == message_id, Delivery.target == ep.id))
        if d is None:
            raise NotFound("Message not found.")
        attempts = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
                             .order_by(DeliveryAttempt.attempted_at)).all()
        return endpoints.message_view(d, list(attempts))
