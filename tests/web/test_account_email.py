"""Optional email: an address added on /me gets only a confirmation link until it is opened; then it
becomes the runner's email. The link works once."""

from __future__ import annotations

import re
from pathlib import Path

from service.domain.signup import account_for
from service.models import Athlete


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
