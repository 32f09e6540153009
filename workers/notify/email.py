"""Every email kneeguard sends is built here, one function per kind (sending: mailer.py):

- `finding_email`: the warnings one analysis brings (Jinja2, autoescaped HTML + plain text);
- `confirmation_email`: the one-time link that confirms an address added on /me;
- `connection_stopped_email`: a provider connection stopped (e.g. Garmin answered 403);
- `endpoint_disabled_email`: a webhook endpoint was disabled, and how to recover.

Every kind gets the same headers from `_headed` (From, To, Date, a Message-ID that depends only
on the delivery row's key, Auto-Submitted, the key header naming the outbox file). Pure: plain
values in, an `EmailMessage` out; the email channel (service/domain/email_channel.py) reads the
rows and hands the message to the mailer.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workers.analysis.severity import sort_key

DEFAULT_FROM = "kneeguard <noreply@kneeguard.local>"
KEY_HEADER = "X-Kneeguard-Key"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_PROVIDERS = {"garmin": "Garmin", "strava": "Strava"}
_SEVERITY_STYLE = {"high": ("High", "#cf222e"), "caution": ("Caution", "#bf8700"),
                   "info": ("For information", "#0969da")}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

# Long URLs (List-Unsubscribe) must stay plain: the default 78-column policy would fold them into
# RFC 2047 encoded-words that mail clients do not read as a URL. 998 is RFC 5322's hard limit.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def finding_email(
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

    `key` is the delivery row's unique key: it names the .eml file and fixes the Message-ID, so a
    retried job produces the same message. `public_url` is the link to the runner's page."""
    if not findings:
        raise ValueError("no findings to send")
    _check_link(unsubscribe_url)
    _check_link(public_url)
    items = [_view(f) for f in sorted(findings, key=_severity_rank)]
    week = _one_week(findings)
    context: dict[str, Any] = {"findings": items, "athlete_email": athlete_email, "week": week,
               "subject": _subject(items, week),
               "unsubscribe_url": unsubscribe_url, "public_url": public_url}
    msg = _headed(context["subject"], athlete_email, key=key, mail_from=mail_from, now=now)
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    if unsubscribe_url.startswith("https://"):
        # RFC 8058 one-click needs an https URL that accepts a POST without cookies.
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(_env.get_template("finding_email.txt").render(context))
    msg.add_alternative(_env.get_template("finding_email.html").render(context), subtype="html")
    return msg


def confirmation_email(address: str, link: str, *, key: str,
                       mail_from: str = DEFAULT_FROM) -> EmailMessage:
    """The only message an unconfirmed address ever gets: the link that confirms it."""
    _check_link(link)
    msg = _headed("Confirm your email for kneeguard", address, key=key, mail_from=mail_from)
    msg.set_content(
        "Someone (hopefully you) added this address to a kneeguard account.\n\n"
        f"To get warnings about your training by email, open this link within 24 hours:\n{link}\n\n"
        "If it was not you, ignore this message: nothing else will be sent to this address.\n")
    return msg


def connection_stopped_email(to: str, provider: str, reason: str, page_url: str, *, key: str,
                             mail_from: str = DEFAULT_FROM) -> EmailMessage:
    """A provider connection stopped; `reason` is the same text /me shows."""
    name = _PROVIDERS.get(provider, "A provider")
    msg = _headed(f"kneeguard: your {name} connection stopped", to, key=key, mail_from=mail_from)
    msg.set_content(
        f"kneeguard can no longer read your {name} activities.\n\n{reason}\n\n"
        f"Until you connect again, new runs are not checked for knee-risk patterns.\n"
        f"Your page: {page_url}\n")
    return msg


def endpoint_disabled_email(to: str, endpoint_id: str, url: str, reason: str, public_url: str, *,
                            key: str, mail_from: str = DEFAULT_FROM) -> EmailMessage:
    """Tells an endpoint's owner it was disabled, and exactly how to recover."""
    msg = _headed("kneeguard: your webhook endpoint was disabled", to, key=key,
                  mail_from=mail_from)
    api = f"{public_url}/v1/endpoints/{endpoint_id}"
    msg.set_content(
        f"Webhook deliveries to {url} (endpoint {endpoint_id}) were stopped: {reason}.\n"
        f"Nothing more is sent there until the endpoint is enabled again; messages due meanwhile "
        f"are kept and can be sent again.\n\n"
        f"1. Fix the receiver.\n"
        f"2. Enable the endpoint: POST {api}/enable with "
        f"your API token or key (operators: kneeguard endpoints enable {endpoint_id}).\n"
        f"3. Send what it missed: POST {api}/replay with "
        f'{{"since": "<when it started failing>"}} (operators: kneeguard endpoints replay '
        f"{endpoint_id} --since <ISO time>).\n")
    return msg


def _headed(subject: str, to: str, *, key: str, mail_from: str,
            now: datetime | None = None) -> EmailMessage:
    """A message with the headers every kind shares."""
    if not valid_key(key):
        raise ValueError("key must be 1-128 chars of [A-Za-z0-9_.-], starting alphanumeric")
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = message_id(key, mail_from)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    msg[KEY_HEADER] = key
    return msg


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


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
    monday = mondays.pop() if len(mondays) == 1 else None
    if monday is None:
        return ""
    return f"{monday.day} {monday.strftime('%b')}"


def dated(message: str, day: str, monday: str = "") -> str:
    """Rule messages speak on the day of the run ("Today's 40.8 km is …", "In the last 7 days you
    ran …"; "This week so far …" in findings stored before issue 22); an email arrives later, so
    the run is named by its date ("Your 40.8 km run on Sun 30 Nov is …") and the week by its days
    ("In the 7 days to Sun 30 Nov you ran …", "From Mon 24 Nov to Sun 30 Nov you ran …")."""
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
    # Weekly rules speak of rolling windows ("In the last 7 days you ran …", issue 22).
    message = re.sub(r"^In the last 7 days", f"In the 7 days to {day}", message)
    message = re.sub(r"\bin the last 7 days\b", f"in the 7 days to {day}", message)
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
