"""Finding emails through a real SMTP server on loopback (aiosmtpd), exactly once."""

import pytest
from sqlalchemy import select, update

from service.models import Activity, Delivery
from tests.helpers import analyze_all, athlete_with_token, spike_history
from tests.notify_e2e.smtp import plain as _plain


@pytest.fixture
def settings(base_settings, inbox):
    return base_settings.with_overrides(smtp_url=inbox.url)


def test_a_finding_is_emailed_once_even_when_the_analysis_reruns(runtime, inbox):
    athlete_id, _ = athlete_with_token(runtime, "spiky@example.com")
    ids = spike_history(runtime, athlete_id)
    analyze_all(runtime, ids)
    with runtime.db.session() as s:
        s.execute(update(Activity).values(status="parsed"))
    analyze_all(runtime, ids)
    spike_mails = [m for m in inbox.messages  # the decoded text: no quoted-printable wrapping
                   if "longer than your longest" in _plain(m)]
    assert len(spike_mails) == 1
    mail = spike_mails[0]
    assert mail["To"] == "spiky@example.com"
    assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}
    with runtime.db.session() as s:
        assert {d.status for d in s.scalars(select(Delivery).where(Delivery.channel == "email"))} \
            == {"sent"}


def test_the_unsubscribe_link_stops_further_emails(runtime, client, inbox):
    athlete_id, _ = athlete_with_token(runtime, "spiky@example.com")
    analyze_all(runtime, spike_history(runtime, athlete_id)[:20])
    link = inbox.messages[0]["List-Unsubscribe"].strip("<>")
    path = link.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200  # a confirmation page; GET changes nothing
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert client.post("/unsubscribe/forged-token").status_code == 404
    _, auth = athlete_with_token(runtime, "spiky@example.com")
    prefs = client.get(f"/v1/athletes/{athlete_id}/preferences", headers=auth).get_json()
    assert prefs["email"] is False
