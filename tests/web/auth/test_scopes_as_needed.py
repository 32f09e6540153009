"""Item 11: Strava connect asks for activity:write only when the runner chose the note."""

from __future__ import annotations

from tests.security import _helpers_15 as h
from tests.security._helpers_15 import browser, scopes_asked, start

# fixtures (pytest finds them in this module's namespace)
fake_garmin = h.fake_garmin
fake_strava = h.fake_strava
live = h.live
mallory = h.mallory
port = h.port
settings = h.settings


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
