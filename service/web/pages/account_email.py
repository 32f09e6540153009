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
from service.errors import Conflict, InvalidInput, NotFound
from service.models import Athlete, utcnow
from service.web.pages.site import _rt, _signed_in

CONFIRM_TTL = timedelta(hours=24)


def register(bp) -> None:
    bp.add_url_rule("/me/email", "add_email", add_email, methods=["POST"])
    bp.add_url_rule("/me/email/confirm/<token>", "confirm_email", confirm_email, methods=["GET"])


def add_email():
    p, go = _signed_in()
    if go:
        return go
    try:
        address = normalise_email(request.form.get("email", ""))
    except ValueError:
        raise InvalidInput("That does not look like an email address.") from None
    token = secrets.token_urlsafe(32)
    rt = _rt()
    with rt.db.session() as s:
        if s.scalar(select(Athlete.id).where(Athlete.email == address,
                                            Athlete.id != p.athlete_id)):
            raise Conflict("Another account uses that address.", code="email_taken")
        athlete = s.get(Athlete, p.athlete_id)
        athlete.pending_email = address
        athlete.email_token_hash = hash_token(token)
        athlete.email_token_expires_at = utcnow() + CONFIRM_TTL
    send_confirmation(rt.settings, address, token)
    return redirect(url_for("web.me", notice="confirm-sent"), 303)


def confirmation_message(settings, address: str, token: str) -> EmailMessage:
    from workers.notify.email import KEY_HEADER

    link = f"{settings.public_url.rstrip('/')}/me/email/confirm/{token}"
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = address
    msg["Subject"] = "Confirm your email for kneeguard"
    msg[KEY_HEADER] = f"confirm-{hash_token(token)[:32]}"
    msg.set_content(
        "Someone (hopefully you) added this address to a kneeguard account.\n\n"
        f"To get warnings about your training by email, open this link within 24 hours:\n{link}\n\n"
        "If it was not you, ignore this message: nothing else will be sent to this address.\n")
    return msg


def send_confirmation(settings, address: str, token: str) -> None:
    from workers.notify.email import EmailSendError, send_email

    try:
        send_email(confirmation_message(settings, address, token), settings.smtp_url,
                   settings.email_outbox_dir)
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
