"""The club dashboard in headless Chromium: the members table and the charts are in the DOM.

The app runs on a loopback LiveServer with a seeded two-club world; Chromium signs in with the
club admin's personal token link (`/login?token=…&next=/clubs/<id>`) and dumps the rendered DOM.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.clubs.world import build
from tests.fakes.server import LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install -y chromium)")


def chromium(tmp_path: Path, *args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _login_url(srv: LiveServer, world, target: str) -> str:
    token = world.personas["runner A"].headers["Authorization"].split(" ", 1)[1]
    return f"{srv.url}/login?token={quote(token)}&next={quote(target)}"


@pytest.fixture
def served(app, runtime):
    world = build(runtime)
    with LiveServer(app) as srv:
        yield srv, world


def test_the_dashboard_renders_the_members_table_and_sparklines(served, tmp_path):
    srv, world = served
    dom = chromium(tmp_path, "--dump-dom", _login_url(srv, world, f"/clubs/{world.ids['club A']}"))
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
    dom = chromium(tmp_path, "--dump-dom", _login_url(srv, world, target))
    charts = re.findall(r'<svg class="chart[^"]*"', dom)
    assert len(charts) == 4, dom[:2000]
    assert dom.count("<rect") > 20  # weekly and per-run bars


def test_a_screenshot_of_the_dashboard_is_written(served, tmp_path):
    srv, world = served
    shot = tmp_path / "dashboard.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,700",
             _login_url(srv, world, f"/clubs/{world.ids['club A']}"))
    assert shot.stat().st_size > 10_000
