"""Item 4: login CSRF. A foreign page must not sign a browser into the attacker's account (so the
victim's uploads land with the attacker), nor sign the victim out with a plain GET.
"""

from __future__ import annotations

from tests.web.auth.steps import browser, csrf_of, sign_in, whoami


def test_a_login_form_post_without_the_csrf_token_is_refused(live, mallory):
    victim = browser()
    for form in ({"credential": mallory[1]}, {"credential": mallory[1], "csrf_token": "guess"}):
        answer = victim.post(f"{live.url}/login", data=form, allow_redirects=False, timeout=5)
        assert answer.status_code == 403, answer.text
        assert whoami(victim, live)["kind"] == "anonymous"


def test_a_csrf_token_from_another_browser_does_not_work_either(live, mallory):
    attacker, victim = browser(), browser()
    stolen = csrf_of(attacker, live)
    victim.get(f"{live.url}/login", timeout=5)  # the victim has a session of their own
    answer = victim.post(f"{live.url}/login", data={"credential": mallory[1],
                                                   "csrf_token": stolen},
                         allow_redirects=False, timeout=5)
    assert answer.status_code == 403
    assert whoami(victim, live)["kind"] == "anonymous"


def test_get_logout_does_not_sign_out(live, mallory):
    runner = browser()
    assert sign_in(runner, live, mallory[1]).status_code == 303
    runner.get(f"{live.url}/logout", timeout=5)  # e.g. <img src="…/logout"> on a forum
    assert whoami(runner, live)["kind"] == "athlete"
    out = runner.post(f"{live.url}/logout", data={}, allow_redirects=False, timeout=5)
    assert out.status_code == 403  # POST without the CSRF token: refused
    assert whoami(runner, live)["kind"] == "athlete"
