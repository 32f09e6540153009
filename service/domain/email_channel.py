"""The email channel: reads a delivery row's state, asks workers/notify/email.py (one function per
kind) for the message, and hands it to the mailer. Kinds: finding emails to the runner, address
confirmations, connection-stopped notices, endpoint-disabled notices to an endpoint's owner."""

from __future__ import annotations

from email.message import EmailMessage

from service.domain import accounts, grouping
from service.domain.deliveries import finding_data, unsubscribe_token
from service.models import Athlete, Delivery
from workers.notify import email as mail
from workers.notify import mailer
from workers.notify.outcome import Outcome, after_failure

CONNECTION_STOPPED = "connection.revoked"  # planned by a provider package (garmin/status.py)
ENDPOINT_DISABLED = "endpoint.disabled"  # planned by service/domain/endpoints.py


def send(rt, d: Delivery) -> Outcome:
    settings = rt.settings
    msg = _render(rt, d)
    if isinstance(msg, str):
        return Outcome("cancelled", error=msg)
    try:
        result = mailer.send_email(msg, settings.smtp_url, settings.email_outbox_dir)
    except mailer.EmailSendError as exc:
        if exc.permanent:
            return Outcome("failed", error=str(exc)[:500])
        return after_failure(d.attempt_count, error=str(exc)[:500])
    return Outcome("ok", snippet=str(result.path) if result.path else result.transport)


def _render(rt, d: Delivery) -> EmailMessage | str:
    """The message, or why there is nothing to send."""
    settings, p = rt.settings, d.payload or {}
    if d.target is None:  # an email row is planned with its address
        return "no address to write to"
    if d.event_type == accounts.CONFIRM_EVENT:
        return _confirmation(rt, d, d.target)
    if d.event_type == CONNECTION_STOPPED:
        return mail.connection_stopped_email(
            d.target, p.get("provider", ""), p.get("reason") or "", f"{settings.public_url}/me",
            key=d.id, mail_from=settings.mail_from)
    if d.event_type == ENDPOINT_DISABLED:
        return mail.endpoint_disabled_email(
            d.target, p["endpoint_id"], p["url"], p["reason"], settings.public_url, key=d.id,
            mail_from=settings.mail_from)
    return _finding_mail(rt, d)


def _confirmation(rt, d: Delivery, to: str) -> EmailMessage | str:
    with rt.db.session() as s:
        token = accounts.confirmation_to_send(s, rt.box, d)
    if token is None:
        return "the address was confirmed, changed or expired meanwhile"
    link = f"{rt.settings.public_url.rstrip('/')}/me/email/confirm/{token}"
    return mail.confirmation_email(to, link, key=d.id, mail_from=rt.settings.mail_from)


def _finding_mail(rt, d: Delivery) -> EmailMessage | str:
    """One email for the findings the row still carries (grouping.email_findings re-reads them
    and the runner's preferences, and records what goes out)."""
    settings = rt.settings
    with rt.db.session() as s:
        found = grouping.email_findings(s, d)
        if isinstance(found, str):
            return found
        if d.athlete_id is None:  # planned for a runner; never without one
            return "no runner to write to"
        data = [finding_data(f) for f in found]
        to = s.get_one(Athlete, d.athlete_id).email
    token = unsubscribe_token(settings.secret_key, d.athlete_id, "email")
    return mail.finding_email(
        data, to, f"{settings.public_url}/unsubscribe/{token}", f"{settings.public_url}/me",
        key=d.id, mail_from=settings.mail_from)
