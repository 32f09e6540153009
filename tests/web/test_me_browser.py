"""The runner's home page in headless Chromium: sign in through the form, upload a real file through
the /me upload form (JavaScript, one request per file), then see the run and its charts; and the
club dashboard showing a member's display name only when the member agreed to it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.domain import accounts
from service.infra.loopback import LiveServer
from service.models import Athlete, ClubMember
from testkit.cdp import CHROMIUM, Browser, sign_in
from tests.clubs.world import build

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install -y chromium)")
RUN = "activities/gpx/msimms__run_03_garmin.gpx"


@pytest.fixture
def live(app):
    with LiveServer(app) as srv:
        yield srv


def test_me_uploads_a_file_through_the_form_then_shows_the_run_and_charts(runtime, live,
                                                                          data_dir):
    _, token = accounts.add_athlete(runtime, "runner@example.com")
    with Browser() as b:
        sign_in(b, live.url, token)
        assert b.eval("!!document.querySelector('form#upload input[type=file][multiple]')")
        b.set_files("#files", [str(data_dir / RUN)])
        b.eval("document.querySelector('#upload button').click()")
        b.wait_for("document.querySelector('#upload').dataset.finished === '1'")
        result = b.eval("document.querySelector('#upload-results li').textContent")
        assert "1 run added" in result, result
        runtime.queue.drain()  # the analysis job (a worker process in production)
        b.open(f"{live.url}/me")
        html = b.html()
    rows = re.findall(r"<tr[^>]*><td[^>]*><time.*?</tr>", html, re.S)
    assert len(rows) == 1, html[:3000]
    assert "Uploaded file" in rows[0] and " km</td>" in rows[0]
    charts = re.findall(r'<svg class="chart[^"]*"', html)
    assert len(charts) == 4
    assert html.count("<rect") >= 2  # this week's distance bar and the run's own bar


def test_a_failed_upload_says_why(runtime, live, tmp_path):
    _, token = accounts.add_athlete(runtime, "runner@example.com")
    junk = tmp_path / "notes.gpx"
    junk.write_text("this is not a GPX file")
    with Browser() as b:
        sign_in(b, live.url, token)
        b.set_files("#files", [str(junk)])
        b.eval("document.querySelector('#upload button').click()")
        b.wait_for("document.querySelector('#upload').dataset.finished === '1'")
        result = b.eval("document.querySelector('#upload-results li').textContent")
    assert result.startswith("notes.gpx") and "✗" in result and "—" in result, result


def test_the_dashboard_shows_a_display_name_only_with_consent(runtime, live):
    world = build(runtime)
    with runtime.db.session() as s:
        s.get(Athlete, world.ids["athlete a1"]).display_name = "Ana P."
        s.scalar(select(ClubMember).where(ClubMember.athlete_id == world.ids["athlete a1"])
                 ).share_name = True
        s.get(Athlete, world.ids["athlete A"]).display_name = "Zed Hidden"  # did not agree
    token = world.personas["runner A"].headers["Authorization"].split(" ", 1)[1]
    with Browser() as b:
        sign_in(b, live.url, token, f"/clubs/{world.ids['club A']}")
        html = b.html()
    assert "Ana P." in html
    assert "Zed Hidden" not in html and f"Runner {world.ids['athlete A'][-6:]}" in html
