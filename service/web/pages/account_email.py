"""Optional email: a runner adds an address on /me; it receives nothing but the confirmation link
until that link is opened. Only then does it become `Athlete.email`, which is the one address
warnings ever go to (so no other code has to check a "confirmed" flag).

The confirmation is a delivery row like every email (service/domain/accounts.py plans it, the
deliver job sends it and retries it): the request never waits for, or fails on, the mail server.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from service.domain import accounts
from service.errors import InvalidInput
from service.infra import jobs
from service.web import mail_limits
from service.web.pages.site import _rt, _signed_in


def register(bp) -> None:
    bp.add_url_rule("/me/email", "add_email", add_email, methods=["POST"])
    bp.add_url_rule("/me/email/confirm/<token>", "confirm_email", confirm_email, methods=["GET"])


def add_email():
    """The same answer whether or not another account uses the address. Each confirmation is
    mail to an address that may not be the runner's: limited per account (429) and per address
    (silently: that answer must not tell either), service/web/mail_limits.py."""
    p, go = _signed_in()
    if go:
        return go
    try:
        address = accounts.normalise_email(request.form.get("email", ""))
    except ValueError:
        raise InvalidInput("That does not look like an email address.") from None
    rt = _rt()
    mail_limits.charge_account(rt, p.athlete_id)
    if mail_limits.charge_address(rt, address):
        with rt.db.session() as s:
            planned = accounts.request_email(s, rt.box, p.athlete_id, address)
            delivery_id = planned.id if planned is not None else None
        if delivery_id:  # committed: now the notify queue (the sweeper backs this up)
            jobs.deliver(rt, delivery_id)
    return redirect(url_for("web.me", notice="confirm-sent"), 303)


def confirm_email(token: str):
    with _rt().db.session() as s:
        accounts.confirm_email(s, token)
    return redirect(url_for("web.me", notice="email-confirmed"), 303)
