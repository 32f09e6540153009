"""Sending an email built by `workers/notify/email.py`: over SMTP, or into the outbox folder.

`SMTP_URL` forms understood by `parse_smtp_url`:

    smtp://user:pass@host:587            STARTTLS (the default on 587, and for smtp:// without port)
    smtp://user:pass@host:25?starttls=true   STARTTLS on another port
    smtps://user:pass@host:465           implicit TLS (465 is the default port for smtps://)
    smtp://127.0.0.1:1025?starttls=false plain, for a local catcher (e.g. aiosmtpd, MailHog)

User name and password are percent-decoded. Credentials are never sent over a connection without
TLS unless the host is loopback. With no SMTP_URL, messages are written as `<key>.eml` files.

Exactly-once is the caller's delivery row (unique key) plus the stable Message-ID the builder sets
and write-once .eml files (reference/reliability.md §5.10).
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from workers.notify.email import KEY_HEADER, valid_key


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class SendResult:
    transport: Literal["smtp", "outbox"]
    path: Path | None = None  # the .eml file (outbox only)
    duplicate: bool = False  # the outbox already held this key; nothing was written


class EmailSendError(Exception):
    """Sending failed. `permanent` (a 5xx answer) means retrying will not help."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse SMTP_URL (forms in the module docstring); ValueError on anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://[user:pass@]host[:port] or smtps://…")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    port = parts.port or (465 if parts.scheme == "smtps" else 587)
    if parts.scheme == "smtps":
        security = "tls"
    elif "starttls" in query:
        security = "starttls" if query["starttls"] in ("true", "1", "yes") else "none"
    else:
        security = "starttls" if port == 587 else "none"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if user and security == "none" and not _is_loopback(parts.hostname):
        raise ValueError("SMTP credentials would be sent without TLS; use STARTTLS or smtps://")
    return SmtpConfig(parts.hostname, port, security, user, password)  # type: ignore[arg-type]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def send_email(
    msg: EmailMessage,
    smtp_url: str | None,
    outbox_dir: str | os.PathLike[str],
    timeout: float = 10.0,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """Send over SMTP when `smtp_url` is set, else write `<outbox_dir>/<key>.eml` once."""
    if not smtp_url:
        path, written = write_outbox(msg, outbox_dir)
        return SendResult("outbox", path=path, duplicate=not written)
    cfg = parse_smtp_url(smtp_url)
    try:
        _smtp_send(msg, cfg, timeout, ssl_context or ssl.create_default_context())
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise EmailSendError(f"recipients refused: {codes}", all(c >= 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        raise EmailSendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                             exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailSendError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
    return SendResult("smtp")


def _smtp_send(msg: EmailMessage, cfg: SmtpConfig, timeout: float,
               context: ssl.SSLContext) -> None:
    client: smtplib.SMTP
    if cfg.security == "tls":
        client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
    with client:
        client.ehlo()
        if cfg.security == "starttls":
            client.starttls(context=context)  # raises if the server does not offer it
            client.ehlo()
        if cfg.username:
            client.login(cfg.username, cfg.password or "")
        client.send_message(msg)


def write_outbox(msg: EmailMessage, outbox_dir: str | os.PathLike[str]) -> tuple[Path, bool]:
    """Write the message to `<outbox_dir>/<key>.eml` unless it exists; (path, written).

    Written to a temporary file and hard-linked into place: the link fails if the name exists,
    so two racing workers cannot both write, and a reader never sees a half-written file."""
    key = msg.get(KEY_HEADER, "")
    if not valid_key(key):
        raise ValueError(f"message has no valid {KEY_HEADER} header")
    directory = Path(outbox_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # messages are personal data
    final = directory / f"{key}.eml"
    if final.exists():
        return final, False
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".eml")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, final)
    except FileExistsError:
        return final, False
    finally:
        os.unlink(tmp)
    return final, True
