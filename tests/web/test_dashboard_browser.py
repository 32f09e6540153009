"""The club dashboard in headless Chromium: the members table and the charts are in the DOM.

The app runs on a loopback LiveServer with a seeded two-club world; Chromium signs in through the
/login form with the club admin's personal token (testkit/cdp.py) and reads the rendered DOM.
"""

from __future__ import annotations

import re

import pytest

from service.infra.loopback import LiveServer
from testkit.cdp import CHROMIUM, Browser, sign_in
from tests.clubs.world import build

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install -y chromium)")


def _page(srv: LiveServer, world, target: str, shot=None, ready: str = "!!document.body") -> str:
    token = world.personas["runner A"].headers["Authorization"].split(" ", 1)[1]
    with Browser() as b:
        sign_in(b, srv.url, token, target)
        b.wait_for(f"location.pathname === {target!r} && !!({ready})")
        if shot is not None:
            b.screenshot(shot)
        return b.html()


@pytest.fixture
def served(app, runtime):
    world = build(runtime)
    with LiveServer(app) as srv:
        yield srv, world


def test_the_dashboard_renders_the_members_table_and_sparklines(served, tmp_path):
    srv, world = served
    dom = _page(srv, world, f"/clubs/{world.ids['club A']}")
    table = re.search(r'<table id="members".*?</table>', dom, re.S)
    assert table, dom[:2000]
    rows = re.findall(r"<tr>.*?</tr>", table.group(0).split("<tbody>")[1], re.S)
    assert len(rows) == 2  # runner A and member a1 share with club A; nobody from club B
    assert len(re.findall(r'<svg class="spark', table.group(0))) == 4
    assert "polyline" in table.group(0)
    assert "Strava" in dom and "@example.com" not in dom


def test_a_members_page_renders_four_charts(served, tmp_path):
    srv, world = served
    target = f"/clubs/{world.ids['club A']}/members/{world.ids['athlete a1']}"
    dom = _page(srv, world, target, ready="document.querySelectorAll('svg.chart').length >= 4")
    charts = re.findall(r'<svg class="chart[^"]*"', dom)
    assert len(charts) == 4, dom[:2000]
    assert dom.count("<rect") > 20  # weekly and per-run bars


def test_a_screenshot_of_the_dashboard_is_written(served, tmp_path):
    srv, world = served
    shot = tmp_path / "dashboard.png"
    _page(srv, world, f"/clubs/{world.ids['club A']}", shot)
    assert shot.stat().st_size > 10_000
