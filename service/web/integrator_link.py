"""A signed integrator connect link on `/connect/<provider>`: checked before the provider's consent
page, remembered in this browser's (signed) session for the OAuth round trip, and claimed by the
callback, which stores the integrator's reference on the runner and lands on the runner's choice
of what that integrator may see (/me, "Apps you share with"). The link alone shares nothing.
"""

from __future__ import annotations

from flask import abort, current_app, make_response, render_template, request, session

from service.domain import integrators
from service.errors import InvalidInput
from service.models import Integrator
from service.web.auth import wants_html

SESSION_KEY = "integrator_link"


def remember() -> None:
    """On `/connect/<provider>?integrator=…&ref=…&exp=…&sig=…`; plain connects pass through."""
    if not {"integrator", "ref", "sig", "exp"} & set(request.args):
        return
    rt = current_app.extensions["kneeguard"]
    try:
        link = integrators.verify(rt.settings.secret_key, request.args)
    except integrators.InvalidLink as exc:
        _refuse(f"This connect link cannot be used: {exc}. Ask the app that gave it to you for a "
                "new one, or connect from your kneeguard page instead.")
    with rt.db.session() as s:
        name = s.scalar(Integrator.__table__.select().with_only_columns(Integrator.name)
                        .where(Integrator.id == link.integrator_id))
    if name is None:
        _refuse("This connect link names an app that no longer exists here.")
    session[SESSION_KEY] = {"i": link.integrator_id, "r": link.ref}


def take() -> dict | None:
    """Before the callback signs the runner in (which starts a fresh session)."""
    return session.pop(SESSION_KEY, None)


def claim(pending: dict | None, athlete_id: str) -> str | None:
    """Store the reference; where to land: the runner's choice for this integrator."""
    if not pending:
        return None
    with current_app.extensions["kneeguard"].db.session() as s:
        integrators.set_ref(s, athlete_id, pending["i"], pending["r"])
    return f"/me?integrator={pending['i']}#integrators"


def _refuse(message: str):
    if wants_html():
        abort(make_response(render_template("error.html", status=400, message=message), 400))
    raise InvalidInput(message, code="invalid_connect_link")
