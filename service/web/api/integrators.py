"""Integrators over HTTP: a runner's per-integrator consent, the signed connect links an integrator
mints for its users, and the findings list runners and consenting integrators read.

Consent and references live in service/domain/integrators.py; who may receive a webhook is still
decided only by service/domain/delivery_auth.py.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, ConfigDict, Field

from service.domain import finding_list, integrators
from service.domain.principal import require_scope
from service.errors import Forbidden, InvalidInput, NotFound
from service.models import Integrator
from service.web.api.endpoints import parse
from service.web.api.params import int_arg
from service.web.auth import principal, require_athlete

bp = Blueprint("integrators", __name__)


class SetConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scopes: list[Literal["findings", "distance", "descent"]] = Field(max_length=3)


class CreateConnectLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Literal["strava", "garmin"]
    ref: str = Field(pattern=integrators.REF_PATTERN,
                     description="Your own id for this user (printable ASCII, 1 to 200 "
                                 "characters); returned as `integrator_ref`.")
    expires_in_s: int = Field(default=integrators.LINK_TTL_S, ge=60,
                              le=integrators.MAX_LINK_TTL_S)


def _rt():
    return current_app.extensions["kneeguard"]


@bp.get("/v1/athletes/<athlete_id>/integrators")
def list_consent(athlete_id: str):
    require_athlete(athlete_id)
    with _rt().db.session() as s:
        return {"integrators": integrators.choices(s, athlete_id)}


@bp.put("/v1/athletes/<athlete_id>/integrators/<integrator_id>")
def set_consent(athlete_id: str, integrator_id: str):
    require_athlete(athlete_id)
    body = parse(SetConsent)
    with _rt().db.session() as s:
        if s.get(Integrator, integrator_id) is None:
            raise NotFound("Integrator not found.")
        integrators.set_scopes(s, athlete_id, integrator_id, body.scopes)
        return next(c for c in integrators.choices(s, athlete_id)
                    if c["integrator_id"] == integrator_id)


@bp.post("/v1/connect-links")
def create_connect_link():
    p = principal()
    if p.kind != "integrator":
        raise Forbidden("Only an integrator's API key mints connect links.")
    require_scope(p, "admin")
    body = parse(CreateConnectLink)
    rt = _rt()
    with rt.db.session() as s:
        integrator_id = integrators.of_key(s, p.key_id)
    url, expires = integrators.mint(rt.settings.public_url, rt.settings.secret_key, body.provider,
                                    integrator_id, body.ref, body.expires_in_s)
    return {"url": url, "provider": body.provider, "integrator_id": integrator_id,
            "ref": body.ref, "expires_at": expires}, 201


@bp.get("/v1/athletes/<athlete_id>/findings")
def list_findings(athlete_id: str):
    """The runner's findings (all sources), or what a consenting integrator may see."""
    query = _query()
    with _rt().db.session() as s:
        reader = finding_list.reader_for(s, principal(), athlete_id)
        return finding_list.page(s, reader, query)


# The findings query, as documented (service/web/openapi.py reads these) and as enforced.
RULE_LIST = r"^[a-z][a-z0-9_]{0,39}(,[a-z][a-z0-9_]{0,39}){0,19}$"
SEVERITY_LIST = r"^(info|caution|high)(,(info|caution|high)){0,2}$"
WITHDRAWN = ("include", "exclude", "only")


def _query() -> finding_list.Query:
    withdrawn = request.args.get("withdrawn", "include")
    if withdrawn not in WITHDRAWN:
        raise InvalidInput("`withdrawn` is include, exclude or only.")
    cursor = request.args.get("cursor")
    return finding_list.Query(
        since=_date("since"), until=_date("until"), rules=_csv("rule", RULE_LIST),
        severities=_csv("severity", SEVERITY_LIST), withdrawn=withdrawn,
        limit=int_arg("limit", finding_list.DEFAULT_LIMIT, 1, finding_list.MAX_LIMIT),
        after=finding_list.decode_cursor(cursor) if cursor is not None else None)


def _csv(name: str, pattern: str) -> frozenset[str]:
    raw = request.args.get(name)
    if raw is None:
        return frozenset()
    if not re.fullmatch(pattern, raw):
        raise InvalidInput(f"`{name}`: comma-separated values matching {pattern}.")
    return frozenset(raw.split(","))


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"`{name}` is a date, YYYY-MM-DD.") from None
