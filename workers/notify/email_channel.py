"""The email channel: finding emails to the runner, and endpoint notices to an endpoint's owner."""

from __future__ import annotations

from email.message import EmailMessage

from service.domain import grouping
from service.domain.deliveries import finding_data, unsubscribe_token
from service.models import Athlete, Delivery
from workers.notify import connection_notice
from workers.notify import email as mail
from workers.notify.outcome import Outcome, after_failure


def send(rt, d: Delivery) -> Outcome:
    settings = rt.settings
    msg = _render(rt, d)
    if isinstance(msg, str):
        return Outcome("cancelled", error=msg)
    try:
        result = mail.send_email(msg, settings.smtp_url, settings.email_outbox_dir)
    except mail.EmailSendError as exc:
        if exc.permanent:
            return Outcome("failed", error=str(exc)[:500])
        return after_failure(d.attempt_count, error=str(exc)[:500])
    return Outcome("ok", snippet=str(result.path) if result.path else result.transport)


def _render(rt, d: Delivery) -> EmailMessage | str:
    """The message, or why there is nothing to send."""
    if d.event_type == connection_notice.EVENT:
        return connection_notice.render(rt.settings, d)
    if d.event_type == "endpoint.disabled":
        return endpoint_notice(rt.settings, d)
    return _finding_mail(rt, d)


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
    return mail.render_finding_email(
        data, to, f"{settings.public_url}/unsubscribe/{token}", f"{settings.public_url}/me",
        key=d.id, mail_from=settings.mail_from)


def endpoint_notice(settings, d: Delivery) -> EmailMessage:
    """Tells an endpoint's owner it was disabled, and exactly how to recover."""
    ep_id, url = d.payload["endpoint_id"], d.payload["url"]
    msg = EmailMessage(policy=mail.MAIL_POLICY)
    msg["Subject"] = "kneeguard: your webhook endpoint was disabled"
    msg["From"], msg["To"] = settings.mail_from, d.target
    msg["Message-ID"] = mail.message_id(d.id, settings.mail_from)
    msg[mail.KEY_HEADER] = d.id
    msg.set_content(
        f"Webhook deliveries to {url} (endpoint {ep_id}) were stopped: {d.payload['reason']}.\n"
        f"Nothing more is sent there until the endpoint is enabled again; messages due meanwhile "
        f"are kept and can be sent again.\n\n"
        f"1. Fix the receiver.\n"
        f"2. Enable the endpoint: POST {settings.public_url}/v1/endpoints/{ep_id}/enable with "
        f"your API token or key (operators: kneeguard endpoints enable {ep_id}).\n"
        f"3. Send what it missed: POST {settings.public_url}/v1/endpoints/{ep_id}/replay with "
        f'{{"since": "<when it started failing>"}} (operators: kneeguard endpoints replay '
        f"{ep_id} --since <ISO time>).\n")
    return msg
