"""/me for a runner whose runs are all in the past (an import or a provider's backfill): the
findings are there, grouped by week with their dates and runs, and the charts cover the runner's
own weeks, with links to step further back (issue 25: "Nothing to flag" and four empty charts)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from service.domain import accounts
from tests.clubs.world import add_run
from tests.web.imported import END, imported_runner

HTML = {"Accept": "text/html"}


@pytest.fixture
def imported(runtime, tmp_path):
    athlete_id, token, report = imported_runner(runtime, tmp_path)
    assert report.findings, "the imported history should give findings"
    return athlete_id, {"Authorization": f"Bearer {token}", **HTML}, report


def test_an_imported_history_shows_its_findings_by_week_and_charts_its_own_weeks(client,
                                                                                 imported):
    _, headers, report = imported
    page = client.get("/me", headers=headers).get_data(as_text=True)
    _findings_by_week(page)
    _charts_of_the_runners_weeks(page, report.last_start.date())


def _findings_by_week(page: str) -> None:
    findings = page[page.index('id="findings"'):page.index('id="charts"')]
    assert "Nothing to flag" not in findings
    weeks = re.findall(r'<h3 class="week">Week of \w{3} (\d+ \w{3} \d{4})</h3>', findings)
    assert weeks, findings[:2000]
    days = [datetime.strptime(w, "%d %b %Y").date() for w in weeks]
    assert days == sorted(days, reverse=True) and days[0] <= END  # newest week first
    whens = re.findall(r'<span class="muted when">\(([^)]*)\)</span>', findings)
    assert whens and all(re.search(r"\d{4}", w) for w in whens)  # every finding has its date
    assert any("the run of" in w and " km" in w for w in whens)  # and run findings name the run


def _charts_of_the_runners_weeks(page: str, newest) -> None:
    charts = page[page.index('id="charts"'):page.index('id="runs"')]
    assert "not shared, or no data yet" not in charts
    assert charts.count("<rect") > 30  # weekly bars and one bar per run
    assert newest.strftime("%-d %b %Y") in charts  # the window ends at the newest run


def test_earlier_and_later_links_step_through_a_history_with_gaps(client, runtime):
    athlete_id, token = accounts.add_athlete(runtime, "gaps@example.com")
    headers = {"Authorization": f"Bearer {token}", **HTML}
    old = datetime(2021, 5, 3, 7, tzinfo=UTC)
    new = datetime(2023, 9, 4, 7, tzinfo=UTC)
    with runtime.db.session() as s:
        for start in [old - timedelta(days=3 * i) for i in range(5)] + \
                     [new - timedelta(days=3 * i) for i in range(5)]:
            add_run(s, athlete_id, start, 8.0)
    page = client.get("/me", headers=headers).get_data(as_text=True)
    earlier = re.search(r'id="charts-earlier" href="([^"]+)"', page)
    assert earlier and "until=2021-05-03" in earlier.group(1)  # skips the empty year between
    assert 'id="charts-later"' not in page
    back = client.get(earlier.group(1).replace("&amp;", "&"), headers=headers).get_data(
        as_text=True)
    charts = back[back.index('id="charts"'):back.index('id="runs"')]
    assert "3 May 2021" in charts and charts.count("<rect") >= 5
    assert 'id="charts-later"' in back and 'id="charts-earlier"' not in back
    assert client.get("/me?until=soon", headers=headers).status_code == 400
