"""The knee-load chart: on /me (server-rendered, and in headless Chromium with its bars, tolerance
band and peaks drawn), and on a club member's page only when the member shares `load`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.domain import accounts
from service.infra.loopback import LiveServer
from service.models import ClubMember
from testkit.cdp import CHROMIUM, Browser, sign_in
from tests.clubs.world import add_run, build

HTML = {"Accept": "text/html"}


def runner_with_ten_weeks(runtime) -> tuple[str, str]:
    athlete_id, token = accounts.add_athlete(runtime, "knees@example.com")
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    with runtime.db.session() as s:
        for day in range(70, 0, -2):
            add_run(s, athlete_id, now - timedelta(days=day), 8.0 + (day % 3))
    return athlete_id, token


def test_me_shows_twelve_weeks_of_knee_load_against_the_tolerance(client, runtime):
    _, token = runner_with_ten_weeks(runtime)
    html = client.get("/me", headers={"Authorization": f"Bearer {token}", **HTML}).get_data(
        as_text=True)
    section = re.search(r'<section class="card" id="knee-load">.*?</section>', html, re.S)
    assert section, html[:2000]
    svg = section.group(0)
    assert 'class="kneechart"' in svg
    assert len(re.findall(r'<rect x=', svg)) >= 10  # weekly bars (weeks with runs)
    assert len(re.findall(r'<rect class="band"', svg)) >= 6  # weeks with a tolerance
    assert "tolerance" in svg and re.search(r"Now: <strong>\d+</strong> knee-km", svg)


def test_me_without_runs_says_there_is_no_data_yet(client, runtime):
    _, token = accounts.add_athlete(runtime, "new@example.com")
    html = client.get("/me", headers={"Authorization": f"Bearer {token}", **HTML}).get_data(
        as_text=True)
    assert 'id="knee-load"' in html and "no data yet" in html
    assert "the tolerance needs 28 days of history" in html


def test_a_member_page_shows_knee_load_only_when_the_member_shares_load(client, runtime):
    world = build(runtime)
    club, member = world.ids["club A"], world.ids["athlete a1"]
    admin = world.personas["runner A"].headers
    url = f"/clubs/{club}/members/{member}"
    assert 'id="knee-load"' in client.get(url, headers={**admin, **HTML}).get_data(as_text=True)
    with runtime.db.session() as s:
        m = s.scalar(select(ClubMember).where(ClubMember.athlete_id == member,
                                              ClubMember.club_id == club))
        m.consent_scope = [x for x in m.consent_scope if x != "load"]
    page = client.get(url, headers={**admin, **HTML}).get_data(as_text=True)
    assert 'id="knee-load"' not in page and "kneechart" not in page


@pytest.fixture
def live(app):
    with LiveServer(app) as srv:
        yield srv


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_chart_draws_in_chromium(runtime, live):
    _, token = runner_with_ten_weeks(runtime)
    with Browser() as b:
        sign_in(b, live.url, token)
        drawn = b.eval("""(() => {
          const svg = document.querySelector('#knee-load svg.kneechart');
          const box = svg.getBoundingClientRect();
          const band = svg.querySelector('rect.band');
          return {w: box.width, h: box.height, bars: svg.querySelectorAll('rect:not(.band)').length,
                  bandH: band ? band.getBoundingClientRect().height : 0,
                  fill: band ? getComputedStyle(band).fill : '',
                  peaks: svg.querySelectorAll('circle.peak').length};
        })()""")
    assert drawn["w"] > 300 and drawn["h"] > 100, drawn
    assert drawn["bars"] >= 10 and drawn["peaks"] >= 10 and drawn["bandH"] > 0, drawn
    assert drawn["fill"] not in ("", "none", "rgb(0, 0, 0)"), drawn  # the stylesheet applies
