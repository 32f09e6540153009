"""Optional email: an address added on /me gets only a confirmation link until it is opened; then it
becomes the runner's email. The link works once."""

from __future__ import annotations

import re
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from service import create_app
from service.domain.signup import account_for
from service.infra import sweeper
from service.models import Athlete, Delivery, utcnow
from tests.notify_e2e.smtp import Inbox, plain


def _runner_without_email(runtime) -> str:
    with runtime.db.session() as s:
        athlete_id, created = account_for(s, "strava", "4242", None, "Ana P.")
        assert created
    return athlete_id


def _sign_in(client, runtime, athlete_id: str) -> None:
    with client.session_transaction() as sess:  # what the OAuth callback leaves behind
        sess.update({"athlete_id": athlete_id, "v": 0, "csrf": "t0k"})


def _mails(settings, to: str) -> list[str]:
    """Messages in the outbox addressed to `to` (the outbox is shared by the test session)."""
    folder = Path(settings.email_outbox_dir)
    found = [p.read_text() for p in folder.glob("*.eml")] if folder.exists() else []
    return [m for m in found if f"To: {to}" in m]


def test_an_added_address_gets_only_the_confirmation_until_confirmed(client, runtime, settings):
    athlete_id = _runner_without_email(runtime)
    _sign_in(client, runtime, athlete_id)
    assert _mails(settings, "ana@example.org") == []
    r = client.post("/me/email", data={"email": "Ana@Example.org", "csrf_token": "t0k"})
    assert r.status_code == 303
    runtime.queue.drain()  # the deliver job sends it (a worker, in production)
    mails = _mails(settings, "ana@example.org")
    assert len(mails) == 1 and "Confirm your email" in mails[0]  # nothing but the confirmation
    confirm = mails
    with runtime.db.session() as s:
        a = s.get(Athlete, athlete_id)
        assert a.email is None and a.pending_email == "ana@example.org"  # warnings use `email`
    link = re.search(r"http://\S+/me/email/confirm/(\S+)", confirm[0].replace("=\n", ""))
    done = client.get(f"/me/email/confirm/{link.group(1)}")
    assert done.status_code == 303
    with runtime.db.session() as s:
        a = s.get(Athlete, athlete_id)
        assert a.email == "ana@example.org" and a.pending_email is None
    again = client.get(f"/me/email/confirm/{link.group(1)}")
    assert again.status_code == 404  # one use


def test_a_display_name_is_cleaned_and_kept(client, runtime):
    athlete_id = _runner_without_email(runtime)
    _sign_in(client, runtime, athlete_id)
    r = client.post("/me/name", data={"display_name": "  Ana \x00\t Pereira  ", "csrf_token": "t0k"})
    assert r.status_code == 303
    with runtime.db.session() as s:
        assert s.get(Athlete, athlete_id).display_name == "Ana Pereira"
    refused = client.post("/me/name", data={"display_name": "Ana"})  # no CSRF token
    assert refused.status_code == 403


def test_the_confirmation_is_a_delivery_retried_until_the_mail_server_answers(
        runtime, base_settings):
    """No email is sent inside the web request: the address change is committed with a delivery
    row, and the deliver job sends it, retrying on the delivery schedule while SMTP is down."""
    inbox = Inbox()  # its port is chosen now, its server starts later: SMTP is down at first
    app = create_app(base_settings.with_overrides(smtp_url=inbox.url))
    rt = app.extensions["kneeguard"]
    web = app.test_client()
    try:
        athlete_id = _runner_without_email(rt)
        _sign_in(web, rt, athlete_id)
        r = web.post("/me/email", data={"email": "ana@example.org", "csrf_token": "t0k"})
        assert r.status_code == 303  # the request does not wait for (or fail on) the mail server
        rt.queue.drain()
        with rt.db.session() as s:
            row = s.scalars(select(Delivery).where(Delivery.target == "ana@example.org")).one()
            assert (row.channel, row.status, row.attempt_count) == ("email", "pending", 1)
            s.execute(update(Delivery).values(next_attempt_at=utcnow()))  # the retry is due
        controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
        controller.start()
        try:
            sweeper.sweep(rt)
            rt.queue.drain()
        finally:
            controller.stop()
        with rt.db.session() as s:
            assert s.get(Delivery, row.id).status == "sent"
        assert [m["To"] for m in inbox.messages] == ["ana@example.org"]
        link = re.search(r"/me/email/confirm/(\S+)", plain(inbox.messages[0]))
        assert web.get(f"/me/email/confirm/{link.group(1)}").status_code == 303
        with rt.db.session() as s:
            assert s.get(Athlete, athlete_id).email == "ana@example.org"
    finally:
        rt.close()
