"""One message per bad week: findings grouped by the runner's local week (Monday start).

A week with a long run, a weekly jump and a descent jump produced five separate warnings before;
a runner reads one. `weekly_digests` keeps every finding (the contract still lists them all) and
adds one digest per week: the strongest severity, the rules involved and a headline, which is what
text reports show and what a notifier can send instead of one message per finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from workers.analysis.severity import rank, strongest

HEADLINES = {
    "single_run_spike": "a run much longer than your recent longest",
    "return_to_running": "your return after a break",
    "weekly_jump": "a week well above your usual volume",
    "acwr": "load rising fast (context)",
    "weekly_descent": "much more descent than usual",
    "downhill_novel": "a descent bigger than any recent one",
    "route_repetition": "the same route in the same direction, week after week",
    "track_direction": "track laps mostly in one direction",
    "gct_asymmetry": "uneven ground-contact balance",
    "cadence_drop": "a lower cadence at the same speed",
    "shoe_mileage": "high shoe mileage",
}


def week_of(day: date | str) -> date:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return d - timedelta(days=d.weekday())


def weekly_digests(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{week, severity, rules, findings, headline}] oldest week first."""
    weeks: dict[date, list[dict[str, Any]]] = {}
    for f in findings:
        weeks.setdefault(week_of(f["date"]), []).append(f)
    out = []
    for week, group in sorted(weeks.items()):
        group = sorted(group, key=lambda f: (-rank(f["severity"]), f["date"]))
        rules = list(dict.fromkeys(f["rule"] for f in group))
        out.append({
            "week": week.isoformat(),
            "severity": strongest(f["severity"] for f in group),
            "rules": rules,
            "findings": len(group),
            "headline": "This week: " + "; ".join(HEADLINES.get(r, r) for r in rules) + ".",
        })
    return out
