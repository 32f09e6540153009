"""Finding emails: rendering (Jinja2, autoescaped HTML + plain text) and sending (SMTP or outbox).

`SMTP_URL` forms understood by `parse_smtp_url`:

    smtp://user:pass@host:587            STARTTLS (the default on 587, and for smtp:// without port)
    smtp://user:pass@host:25?starttls=true   STARTTLS on another port
    smtps://user:pass@host:465           implicit TLS (465 is the default port for smtps://)
    smtp://127.0.0.1:1025?starttls=false plain, for a local catcher (e.g. aiosmtpd, MailHog)

User name and password are percent-decoded. Credentials are never sent over a connection without
TLS unless the host is loopback. With no SMTP_URL, messages are written as `<key>.eml` files.

Exactly-once is the caller's outbox row (unique key) plus this module's stable Message-ID and
write-once .eml files (reference/reliability.md §5.10).
"""

from __future__ import annotations

import email.policy
import hashlib
import ipaddress
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workers.analysis.severity import WORDS, sort_key

DEFAULT_FROM = "kneeguard <noreply@kneeguard.local>"
KEY_HEADER = "X-Kneeguard-Key"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SEVERITY_STYLE = {level: (WORDS[level], colour) for level, colour in
                   (("high", "#cf222e"), ("caution", "#bf8700"), ("info", "#0969da"))}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

# Long URLs (List-Unsubscribe) must stay plain: the default 78-column policy would fold them into
# RFC 2047 encoded-words that mail clients do not read as a URL. 998 is RFC 5322's hard limit.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


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


def render_finding_email(
    findings: Sequence[Mapping[str, Any]],
    athlete_email: str,
    unsubscribe_url: str,
    public_url: str,
    *,
    key: str,
    mail_from: str = DEFAULT_FROM,
    now: datetime | None = None,
) -> EmailMessage:
    """One email listing `findings` (dicts shaped like the analyze JSON findings).

    `key` is the outbox row's unique key: it names the .eml file and fixes the Message-ID, so a
    retried job produces the same message. `public_url` is the link to the runner's page."""
    if not findings:
        raise ValueError("no findings to send")
    if not _KEY.match(key):
        raise ValueError("key must be 1-128 chars of [A-Za-z0-9_.-], starting alphanumeric")
    _check_link(unsubscribe_url)
    _check_link(public_url)
    items = [_view(f) for f in sorted(findings, key=_severity_rank)]
    week = _one_week(findings)
    context = {"findings": items, "athlete_email": athlete_email, "week": week,
               "subject": _subject(items, week),
               "unsubscribe_url": unsubscribe_url, "public_url": public_url}
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = context["subject"]
    msg["From"] = mail_from
    msg["To"] = athlete_email
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = message_id(key, mail_from)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    if unsubscribe_url.startswith("https://"):
        # RFC 8058 one-click needs an https URL that accepts a POST without cookies.
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg[KEY_HEADER] = key
    msg.set_content(_env.get_template("finding_email.txt").render(context))
    msg.add_alternative(_env.get_template("finding_email.html").render(context), subtype="html")
    return msg


def message_id(key: str, mail_from: str = DEFAULT_FROM) -> str:
    """A Message-ID that depends only on the key (and sender domain)."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "kneeguard.local"
    return f"<kg.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _check_link(url: str) -> None:
    if not re.match(r"^https?://[^\s<>\"]+$", url):
        raise ValueError(f"not an absolute http(s) URL: {url!r}")


def _severity_rank(f: Mapping[str, Any]) -> tuple[int, str]:
    return sort_key(str(f.get("severity"))), str(f.get("date") or "")


def _view(f: Mapping[str, Any]) -> dict[str, str]:
    label, colour = _SEVERITY_STYLE.get(str(f.get("severity")), ("Note", "#59636e"))
    day = _day(f.get("date"))
    message = dated(str(f.get("message") or ""), day, _day(_monday(f.get("date"))))
    return {"severity_label": label, "colour": colour, "date": day,
            "figures": _comparison(f), "message": message,
            "rule": str(f.get("rule") or ""), "sources": ", ".join(f.get("sources") or []),
            "strength": _strength(f)}


def _strength(f: Mapping[str, Any]) -> str:
    """The evidence grade the rule gave ("strong", "expert opinion"…), for the evidence line."""
    evidence = f.get("evidence")
    grade = evidence.get("evidence") if isinstance(evidence, Mapping) else None
    return str(grade) if grade else "see the message"


# Plain comparisons instead of a bare ratio beside a threshold.
_COMPARE = {
    "single_run_spike": "{v:.1f}× your longest run of the 30 days before (we flag above {t:.1f}×)",
    "weekly_jump": "{v:.1f}× your usual training week (we flag above {t:.1f}×)",
    "acwr": "{v:.1f}× your average week of the 3 weeks before (we note above {t:.1f}×)",
    "weekly_descent": "{v:.1f}× your usual weekly descent (we flag above {t:.1f}×)",
    "downhill_novel": "{v:.1f}× your biggest recent descent (we flag above {t:.1f}×)",
    "shoe_mileage": "{v:.0f} km on these shoes (we flag from {t:.0f} km)",
}


def _comparison(f: Mapping[str, Any]) -> str:
    template = _COMPARE.get(str(f.get("rule")))
    try:
        v, th = float(f["value"]), float(f["threshold"])
    except (KeyError, TypeError, ValueError):
        return ""
    return template.format(v=v, t=th) if template else ""


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _day(value: Any) -> str:
    """"Sun 30 Nov" for an ISO date: a past run is named by its date."""
    d = value if isinstance(value, date) else _date(value)
    if d is None:
        return str(value or "")
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}"


def _monday(value: Any) -> date | None:
    d = _date(value)
    return None if d is None else d - timedelta(days=d.weekday())


def _one_week(findings: Sequence[Mapping[str, Any]]) -> str:
    """"24 Nov" when every finding falls in the week starting Monday 24 Nov (local), else ""."""
    mondays = {_monday(f.get("date")) for f in findings}
    if len(mondays) != 1 or None in mondays:
        return ""
    monday = mondays.pop()
    return f"{monday.day} {monday.strftime('%b')}"


def dated(message: str, day: str, monday: str = "") -> str:
    """Rule messages speak on the day of the run ("Today's 40.8 km is …", "This week so far you
    ran …"); an email arrives later, so the run is named by its date ("Your 40.8 km run on Sun
    30 Nov is …") and the week by its days ("From Mon 24 Nov to Sun 30 Nov you ran …")."""
    if not day:
        return message
    message = re.sub(r"^(Race: )?Today's ([\d.,]+ km) is", rf"\1Your \2 run on {day} is",
                     message)
    message = re.sub(r"^(Race: )?This run\b", rf"\1Your run on {day}", message)
    if monday and monday != day:
        message = re.sub(r"^This week so far", f"From {monday} to {day}", message)
        message = re.sub(r"\bthis week so far\b", f"from {monday} to {day}", message)
    elif monday:
        message = re.sub(r"^This week so far", f"On {day}", message)
        message = re.sub(r"\bthis week so far\b", f"on {day}", message)
    return re.sub(r"\btoday\b", f"on {day}", message)


def _num(x: Any) -> str:
    try:
        return f"{float(x):.2f}".rstrip("0").rstrip(".")
    except (TypeError, ValueError):
        return str(x)


def _subject(items: Sequence[Mapping[str, str]], week: str = "") -> str:
    n = len(items)
    what = "a warning" if n == 1 else f"{n} warnings"
    about = f"your week of {week}" if week else "your running"
    return f"kneeguard: {what} about {about} ({items[0]['severity_label'].lower()})"


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
    if not _KEY.match(key):
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
