"""The first minutes of each user, in headless Chromium (testkit/walkthroughs.py; the README's
pictures are taken from the same steps by bench/screenshots.py):

- a runner with an imported past opens /me on a desktop and on a phone: findings by week, charts
  of their own weeks, every finding badge wholly visible;
- a club admin creates a club from /me, makes an invite link (copy button), three runners join
  through it and upload runs, and the dashboard lists the three; then a key is made.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.domain import accounts, demo
from service.infra.loopback import LiveServer
from testkit import walkthroughs
from testkit.cdp import CHROMIUM, Browser
from tests.web.imported import imported_runner

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install -y chromium)")
RUN = "gpx/msimms__run_03_garmin.gpx"
NAMES = ("Ana P.", "Ben O.", "Chloé D.")


@pytest.fixture
def live(app):
    with LiveServer(app) as srv:
        yield srv


def _shots(folder: Path, b: Browser):
    def shot(name: str, full: bool = True) -> None:
        b.screenshot(folder / f"{name}.png", full)
    return shot


def test_the_runner_with_an_imported_past_sees_it_on_a_desktop_and_a_phone(runtime, live,
                                                                           tmp_path):
    _, token, report = imported_runner(runtime, tmp_path)
    with Browser(*walkthroughs.DESKTOP) as b:
        seen = walkthroughs.runner_home(b, live.url, token, _shots(tmp_path, b))
    assert seen["weeks"] >= 1 and seen["bars"] > 30, walkthroughs.dump(seen)
    assert seen["badges"] >= report.findings > 0
    assert seen["cut_desktop"] == [] and seen["cut_phone"] == [], walkthroughs.dump(seen)
    assert seen["page_width_phone"] <= walkthroughs.PHONE[0]  # nothing scrolls sideways
    assert (tmp_path / "me.png").stat().st_size > 20_000
    assert (tmp_path / "me-phone.png").stat().st_size > 20_000


def test_a_club_admin_goes_from_an_empty_club_to_three_consenting_members(runtime, live,
                                                                          data_dir, tmp_path):
    _, admin = accounts.add_athlete(runtime, "coach@example.com")
    members = []
    for i, name in enumerate(NAMES):  # runners who already use kneeguard; one uploads a run
        athlete_id, token = accounts.add_athlete(runtime, f"member{i}@example.com")
        demo.add_history(runtime, athlete_id, data_dir / "activities", index=i, every=2 + i)
        members.append((token, name, [data_dir / "activities" / RUN] if i == 0 else []))
    with Browser(*walkthroughs.DESKTOP) as b:
        seen = walkthroughs.club_admin(b, live.url, admin, members, _shots(tmp_path, b),
                                       settle=runtime.queue.drain)
    assert "Create an invite link" in seen["empty"], seen["empty"]
    assert "POST /v1" not in seen["empty"]  # no curl needed
    assert seen["link"].startswith(f"{runtime.settings.public_url}/join/inv_")
    assert all("You joined Riverside Runners" in j for j in seen["joined"]), seen["joined"]
    assert seen["rows"] == 3 and all(n in seen["dashboard"] for n in NAMES)
    assert seen["key"].startswith("kgk_")
    for name in ("club-new", "club-empty", "invite", "club", "keys"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
