"""Optional email: a runner adds an address on /me; it receives nothing but the confirmation link
until that link is opened. Only then does it become `Athlete.email`, which is the one address
warnings ever go to (so no other code has to check a "confirmed" flag).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from email.message import EmailMessage

from flask import redirect, request, url_for
from sqlalchemy import select

from service.domain.accounts import hash_token, normalise_email
from service.models import Athlete, utcnow
from service.web import mail_limits
from service.web.errors import Conflict, InvalidInput, NotFound
from service.web.pages import _rt, _signed_in

CONFIRM_TTL = timedelta(hours=24)


def register(bp) -> None:
    bp.add_url_rule("/me/email", "add_email", add_email, methods=["POST"])
    bp.add_url_rule("/me/email/confirm/<token>", "confirm_email", confirm_email, methods=["GET"])


def add_email():
    """The same answer whether or not another account uses the address (no account lookup
    through this form): a free address gets the confirmation link, a taken one a notice that
    nothing changed. Each is mail to an address that may not be the runner's, so both are
    limited per account (429) and per address (silently: the answer must not tell)."""
    p, go = _signed_in()
    if go:
        return go
    try:
        address = normalise_email(request.form.get("email", ""))
    except ValueError:
        raise InvalidInput("That does not look like an email address.") from None
    rt = _rt()
    mail_limits.charge_account(rt, p.athlete_id)
    token = secrets.token_urlsafe(32)
    with rt.db.session() as s:
        taken = s.scalar(select(Athlete.id).where(Athlete.email == address,
                                                 Athlete.id != p.athlete_id))
        if not taken:
            athlete = s.get(Athlete, p.athlete_id)
            athlete.pending_email = address
            athlete.email_token_hash = hash_token(token)
            athlete.email_token_expires_at = utcnow() + CONFIRM_TTL
    if mail_limits.charge_address(rt, address):
        message = taken_notice if taken else confirmation_message
        send_confirmation(rt.settings, message(rt.settings, address, token, p.athlete_id))
    return redirect(url_for("web.me", notice="confirm-sent"), 303)


def _message(settings, address: str, subject: str, key: str, body: str) -> EmailMessage:
    from workers.notify.email import KEY_HEADER

    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = address
    msg["Subject"] = subject
    msg[KEY_HEADER] = key
    msg.set_content(body)
    return msg


def confirmation_message(settings, address: str, token: str, athlete_id: str) -> EmailMessage:
    """Named `confirm-<athlete>-…` in the outbox, so erasing the account finds it."""
    link = f"{settings.public_url.rstrip('/')}/me/email/confirm/{token}"
    return _message(
        settings, address, "Confirm your email for kneeguard",
        f"confirm-{athlete_id}-{hash_token(token)[:16]}",
        "Someone (hopefully you) added this address to a kneeguard account.\n\n"
        f"To get warnings about your training by email, open this link within 24 hours:\n{link}\n\n"
        "If it was not you, ignore this message: nothing else will be sent to this address.\n")


def taken_notice(settings, address: str, token: str, athlete_id: str) -> EmailMessage:
    return _message(
        settings, address, "Your email and kneeguard",
        f"confirm-{athlete_id}-{hash_token(token)[:16]}",
        "Someone tried to add this address to a kneeguard account. It already belongs to an "
        "account, so nothing changed and nothing else will be sent about it.\n\n"
        "If that was you, sign in to the account that uses this address.\n")


def send_confirmation(settings, msg: EmailMessage) -> None:
    from workers.notify.email import EmailSendError, send_email

    try:
        send_email(msg, settings.smtp_url, settings.email_outbox_dir)
    except EmailSendError as exc:
        raise InvalidInput(f"The confirmation email could not be sent ({exc}); try again later.",
                           code="email_not_sent") from None


def confirm_email(token: str):
    """One use: the token is cleared as the address is confirmed."""
    with _rt().db.session() as s:
        athlete = s.scalar(select(Athlete).where(Athlete.email_token_hash == hash_token(token)))
        if athlete is None or athlete.email_token_expires_at < utcnow():
            raise NotFound("This confirmation link is unknown, used or expired; add the address "
                           "again on your page.")
        taken = s.scalar(select(Athlete.id).where(Athlete.email == athlete.pending_email,
                                                 Athlete.id != athlete.id))
        if taken:
            raise Conflict("Another account uses that address.", code="email_taken")
        athlete.email, athlete.pending_email = athlete.pending_email, None
        athlete.email_token_hash = athlete.email_token_expires_at = None
    return redirect(url_for("web.me", notice="email-confirmed"), 303)
