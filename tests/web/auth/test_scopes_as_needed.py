"""Item 11: Strava connect asks for activity:write only when the runner chose the note."""

from __future__ import annotations

from tests.web.auth.steps import browser, scopes_asked, start


def test_connect_without_the_note_asks_read_only(live, mallory):
    b = browser()
    b.headers["Authorization"] = f"Bearer {mallory[1]}"
    assert scopes_asked(start(b, live, "strava")) == {"activity:read_all"}
    assert scopes_asked(start(b, live, "strava", note="0")) == {"activity:read_all"}


def test_connect_with_the_note_asks_for_write_too(live, mallory):
    b = browser()
    b.headers["Authorization"] = f"Bearer {mallory[1]}"
    assert scopes_asked(start(b, live, "strava", note="1")) == {"activity:read_all",
                                                                "activity:write"}
