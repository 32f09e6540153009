"""The email that tells a runner a provider connection stopped (e.g. Garmin answered 403: the
user removed kneeguard's access). Sent through the deliveries outbox like every email, so it goes
exactly once; the reason is the same text /me shows."""

from __future__ import annotations

from email.message import EmailMessage

from workers.notify import email as mail

EVENT = "connection.revoked"
_LABELS = {"garmin": "Garmin", "strava": "Strava"}


def render(settings, delivery) -> EmailMessage:
    provider = _LABELS.get(delivery.payload.get("provider"), "A provider")
    msg = EmailMessage(policy=mail.MAIL_POLICY)
    msg["Subject"] = f"kneeguard: your {provider} connection stopped"
    msg["From"], msg["To"] = settings.mail_from, delivery.target
    msg["Message-ID"] = mail.message_id(delivery.id, settings.mail_from)
    msg[mail.KEY_HEADER] = delivery.id
    msg.set_content(
        f"kneeguard can no longer read your {provider} activities.\n\n"
        f"{delivery.payload.get('reason') or ''}\n\n"
        f"Until you connect again, new runs are not checked for knee-risk patterns.\n"
        f"Your page: {settings.public_url}/me\n")
    return msg
