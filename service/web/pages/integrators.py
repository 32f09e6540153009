"""/me, "Apps you share with": every integrator on this deployment, what the runner shares with
each (findings, distance, descent; nothing until ticked), the integrator's reference when a connect
link brought the runner, and one form per integrator (POST, CSRF) to change it.

Self-contained: /me includes `_integrators.html`, which reads `integrator_choices()`.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from service.domain import integrators
from service.errors import NotFound
from service.web.pages.site import _rt, _signed_in, bp


def register(bp) -> None:
    bp.add_url_rule("/me/integrators/<integrator_id>", "set_integrator", set_integrator,
                    methods=["POST"])
    bp.add_app_template_global(integrator_choices, "integrator_choices")


def integrator_choices(athlete_id: str) -> dict:
    with _rt().db.session() as s:
        rows = integrators.choices(s, athlete_id)
    return {"rows": rows, "labels": integrators.SCOPES,
            "asked": request.args.get("integrator"), "saved": request.args.get("notice") ==
            "integrator-saved"}


def set_integrator(integrator_id: str):
    p, go = _signed_in()
    if go:
        return go
    scopes = [x for x in request.form.getlist("scope") if x in integrators.SCOPES]
    with _rt().db.session() as s:
        if integrator_id not in {c["integrator_id"] for c in integrators.choices(s, p.athlete_id)}:
            raise NotFound("No such app.")
        integrators.set_scopes(s, p.athlete_id, integrator_id, scopes)
    return redirect(url_for("web.me", notice="integrator-saved", integrator=integrator_id,
                            _anchor="integrators"), 303)


register(bp)  # like account_email: this module's views attach to the pages blueprint
