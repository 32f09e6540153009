"""/me as the runner's home, rendered on the server: runs newest first and paged, each with its
findings; findings by week, most severe first, in the runner's words; older context folded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from service.domain import accounts
from tests.clubs.world import add_finding, add_run

HTML = {"Accept": "text/html"}


def _runner(runtime, runs: int):
    athlete_id, token = accounts.add_athlete(runtime, "runner@example.com")
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    with runtime.db.session() as s:
        ids = [add_run(s, athlete_id, now - timedelta(days=2 * i + 1), 5.0 + i % 4)
               for i in range(runs)]
        add_finding(s, athlete_id, ids[0], rule="single_run_spike", severity="caution",
                    sources=["upload"], days_ago=1)
        add_finding(s, athlete_id, None, rule="weekly_jump", severity="high", sources=["upload"],
                    days_ago=1)
        add_finding(s, athlete_id, None, rule="acwr", severity="info", sources=["upload"],
                    days_ago=60)
    return athlete_id, {"Authorization": f"Bearer {token}", **HTML}


def test_runs_are_newest_first_paged_and_carry_their_findings(client, runtime):
    _, headers = _runner(runtime, runs=25)
    page = client.get("/me", headers=headers).get_data(as_text=True)
    rows = re.findall(r'<time class="local" datetime="([^"]+)"', page)
    assert len(rows) == 20 and rows == sorted(rows, reverse=True)
    first_row = page[page.index('<time class="local"'):].split("</tr>")[0]
    assert "One run much longer than usual" in first_row  # the run's own finding
    assert "Page 1 of 2" in page
    second = client.get("/me?page=2", headers=headers).get_data(as_text=True)
    assert len(re.findall(r'<time class="local"', second)) == 5
    assert client.get("/me?page=0", headers=headers).status_code == 400


def test_findings_are_grouped_by_week_most_severe_first_with_old_context_folded(client, runtime):
    _, headers = _runner(runtime, runs=3)
    page = client.get("/me", headers=headers).get_data(as_text=True)
    findings = page[page.index('id="findings"'):page.index('id="charts"')]
    recent, _, folded = findings.partition("<details class=\"older\">")
    assert recent.index("Your week jumped") < recent.index("One run much longer than usual")
    assert "Act on this" in recent and "Consider:" in recent
    assert "This week vs your usual month" not in recent  # two-month-old info is folded away
    assert "This week vs your usual month" in folded
