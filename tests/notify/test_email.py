"""Finding emails against a real aiosmtpd server on loopback, and the .eml outbox."""

from __future__ import annotations

import email
import email.policy
import ssl

import pytest
from aiosmtpd.controller import Controller

from service.infra.loopback import free_port
from testkit.tls import self_signed
from workers.notify.email import finding_email, message_id
from workers.notify.mailer import EmailSendError, SmtpConfig, parse_smtp_url, send_email

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
FINDINGS = [
    {"rule": "single_run_spike", "severity": "caution", "value": 1.42, "threshold": 1.30,
     "message": HOSTILE, "evidence": {}, "sources": ["upload"], "date": "2026-05-01",
     "activity": "act_1"},
    {"rule": "shoe_mileage", "severity": "high", "value": 812.0, "threshold": 800.0,
     "message": "Your shoes have 812 km on them.", "evidence": {}, "sources": ["garmin"],
     "date": "2026-05-02", "activity": None},
]
UNSUB = "https://kneeguard.example/unsubscribe/tok_abc"


def _render(key: str = "dlv_01") -> email.message.EmailMessage:
    return finding_email(FINDINGS, "runner@example.com", UNSUB,
                                "https://kneeguard.example/me", key=key,
                                mail_from="kneeguard <alerts@kneeguard.example>")


class Collect:
    def __init__(self, refuse: str | None = None) -> None:
        self.envelopes = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse and address == self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtpd():
    handler = Collect()
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl, handler
    ctl.stop()


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_finding_email_arrives_as_multipart_with_unsubscribe_headers(smtpd, tmp_path):
    ctl, handler = smtpd
    result = send_email(_render(), f"smtp://127.0.0.1:{ctl.port}?starttls=false", tmp_path)
    assert result.transport == "smtp"
    [env] = handler.envelopes
    assert env.mail_from == "alerts@kneeguard.example" and env.rcpt_tos == ["runner@example.com"]
    msg = _parse(env.content)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == f"<{UNSUB}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == message_id("dlv_01", "alerts@kneeguard.example")
    assert msg["Subject"] == "kneeguard: 2 warnings about your week of 27 Apr (act on this)"
    assert list(tmp_path.iterdir()) == []  # SMTP configured: no outbox file


def test_hostile_finding_text_is_escaped_in_html_and_plain_in_text(smtpd, tmp_path):
    ctl, handler = smtpd
    send_email(_render(), f"smtp://127.0.0.1:{ctl.port}?starttls=false", tmp_path)
    msg = _parse(handler.envelopes[0].content)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert HOSTILE in text
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in html
    assert html.index("812 km") < html.index("&lt;script")  # high severity first
    assert f'href="{UNSUB}"' in html


def test_a_retried_render_keeps_the_message_id():
    assert _render("dlv_01")["Message-ID"] == _render("dlv_01")["Message-ID"]
    assert _render("dlv_01")["Message-ID"] != _render("dlv_02")["Message-ID"]


def test_the_outbox_gets_one_eml_file_per_key(tmp_path):
    first = send_email(_render("dlv_01"), None, tmp_path / "outbox")
    again = send_email(_render("dlv_01"), None, tmp_path / "outbox")
    other = send_email(_render("dlv_02"), None, tmp_path / "outbox")
    assert (first.transport, first.duplicate, again.duplicate, other.duplicate) == (
        "outbox", False, True, False)
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == ["dlv_01.eml", "dlv_02.eml"]
    saved = _parse(first.path.read_bytes())
    assert saved["Message-ID"] == _render("dlv_01")["Message-ID"]
    assert saved.get_body(("plain",)).get_content().startswith("Hello,")


def test_the_outbox_never_overwrites_an_existing_file(tmp_path):
    (tmp_path / "dlv_01.eml").write_bytes(b"first copy")
    assert send_email(_render("dlv_01"), None, tmp_path).duplicate
    assert (tmp_path / "dlv_01.eml").read_bytes() == b"first copy"
    assert [p.name for p in tmp_path.iterdir()] == ["dlv_01.eml"]  # no temp file left behind


@pytest.mark.parametrize("key", ["../escape", "a/b", "", ".hidden", "x" * 200, "a:b"])
def test_keys_that_are_not_safe_file_names_are_rejected(key):
    with pytest.raises(ValueError):
        _render(key)


def test_a_refused_recipient_is_a_permanent_error(tmp_path):
    handler = Collect(refuse="runner@example.com")
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        with pytest.raises(EmailSendError) as err:
            send_email(_render(), f"smtp://127.0.0.1:{ctl.port}?starttls=false", tmp_path)
    finally:
        ctl.stop()
    assert err.value.permanent and handler.envelopes == []


def test_an_unreachable_server_is_a_temporary_error(tmp_path):
    with pytest.raises(EmailSendError) as err:
        send_email(_render(), f"smtp://127.0.0.1:{free_port()}?starttls=false", tmp_path,
                   timeout=2)
    assert not err.value.permanent


@pytest.mark.parametrize("url,expected", [
    ("smtp://u:p%40ss@mail.example:587", SmtpConfig("mail.example", 587, "starttls", "u", "p@ss")),
    ("smtp://mail.example", SmtpConfig("mail.example", 587, "starttls")),
    ("smtp://mail.example:25?starttls=true", SmtpConfig("mail.example", 25, "starttls")),
    ("smtps://u:p@mail.example", SmtpConfig("mail.example", 465, "tls", "u", "p")),
    ("smtp://127.0.0.1:1025?starttls=false", SmtpConfig("127.0.0.1", 1025, "none")),
    ("smtp://mail.example:25", SmtpConfig("mail.example", 25, "none")),
])
def test_smtp_url_forms(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", ["smtp://u:p@mail.example:25", "smtp://u:p@mail.example:587"
                                 "?starttls=false", "http://mail.example", "smtp://"])
def test_smtp_urls_that_would_leak_credentials_or_make_no_sense_are_rejected(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)


def test_starttls_is_used_when_the_url_asks_for_it(tmp_path):
    cert, key = self_signed(tmp_path, "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    handler = Collect()
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=server_ctx,
                     require_starttls=True)  # the server refuses mail before STARTTLS
    ctl.start()
    try:
        send_email(_render(), f"smtp://localhost:{ctl.port}?starttls=true", tmp_path,
                   ssl_context=ssl.create_default_context(cafile=str(cert)))
    finally:
        ctl.stop()
    assert len(handler.envelopes) == 1
