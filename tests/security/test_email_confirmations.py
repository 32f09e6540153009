"""Red team: the email confirmation form (POST /me/email).

- It answered 409 `email_taken` for an address another account uses: a signed-in runner could
  test any address for an account. Now a taken and a free address get the same answer.
- It sent a confirmation on every post (8 in a second to one address): mail bombing through us.
  Now per account (429 with Retry-After) and per address (silently: the same answer, no mail).
- Deleting an account left its confirmation mail in the outbox (older versions wrote it with no
  delivery row naming it; it is a delivery row now, and erasure also removes mail to the runner's
  address that no row names).
"""

from __future__ import annotations

from pathlib import Path

from service.domain import accounts, erasure
from service.domain.signup import account_for
from service.models import Athlete


def runner(runtime, n: int) -> str:
    with runtime.db.session() as s:
        athlete_id, _ = account_for(s, "strava", str(5000 + n), None, f"Runner {n}")
    return athlete_id


def signed_in(app, athlete_id: str):
    client = app.test_client()
    with client.session_transaction() as sess:  # what the OAuth callback leaves behind
        sess.update({"athlete_id": athlete_id, "v": 0, "csrf": "t0k"})
    return client


def add(client, address: str):
    answer = client.post("/me/email", data={"email": address, "csrf_token": "t0k"})
    client.application.extensions["kneeguard"].queue.drain()  # the deliver job sends the mail
    return answer


def mails_to(settings, address: str) -> list[Path]:
    folder = Path(settings.email_outbox_dir)
    return [p for p in folder.glob("*.eml") if f"To: {address}" in p.read_text()] \
        if folder.exists() else []


def test_a_taken_and_a_free_address_get_the_same_answer(app, runtime, settings):
    accounts.add_athlete(runtime, "taken@example.org")
    asking = runner(runtime, 1)
    client = signed_in(app, asking)
    taken, free = add(client, "taken@example.org"), add(client, "free@example.org")
    assert (taken.status_code, taken.headers["Location"]) == \
        (free.status_code, free.headers["Location"]) == (303, "/me?notice=confirm-sent")
    assert taken.get_data() == free.get_data()
    with runtime.db.session() as s:  # the taken address is not waiting for this runner
        assert s.get(Athlete, asking).pending_email == "free@example.org"


def test_confirmations_are_limited_per_account(app, runtime, settings):
    client = signed_in(app, runner(runtime, 2))
    answers = [add(client, f"a{n}@example.org") for n in range(8)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [303] * 5 and set(codes[5:]) == {429}
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert sum(len(mails_to(settings, f"a{n}@example.org")) for n in range(8)) == 5


def test_one_address_gets_at_most_three_mails_whoever_asks(app, runtime, settings):
    victim = "victim@example.org"
    answers = [add(signed_in(app, runner(runtime, 10 + n)), victim) for n in range(4)
               for _ in range(2)]
    assert {a.status_code for a in answers} == {303}  # the same answer: nothing to learn
    assert len(mails_to(settings, victim)) == 3


def test_deleting_the_account_removes_its_confirmation_mail(app, runtime, settings):
    athlete_id = runner(runtime, 20)
    with runtime.db.session() as s:
        s.get(Athlete, athlete_id).email = "mine@example.org"
    client = signed_in(app, athlete_id)
    assert add(client, "new-mine@example.org").status_code == 303
    assert add(client, "other@example.org").status_code == 303  # the one waiting now
    assert mails_to(settings, "new-mine@example.org") and mails_to(settings, "other@example.org")
    assert erasure.delete_athlete(runtime, athlete_id, app.extensions["kneeguard.providers"])[
        "deleted"]
    left = [p.name for p in Path(settings.email_outbox_dir).glob("*.eml")
            if athlete_id in p.name or "mine@example.org" in p.read_text()
            or "other@example.org" in p.read_text()]
    assert left == []
