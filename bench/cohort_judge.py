"""How `bench/cohort.py` judges a set of histories: the same figures for set A and set B.

A set is a list of `Case`s (runner name, kind, expectations) and each runner's findings from the
real engine. Printed per set and per rule:

* controls, after each control runner's first 30 days: caution-or-higher and info findings per
  runner-month (Done when: all caution-or-higher together <= 0.25);
* every "warn" expectation: a caution or higher from the pattern's onset to 7 days after its start
  (Done when: >= 95%), with the rule that spoke and whether it is the rule the pattern is about.
  The start is the day a careful coach would speak up; a persistent exposure (a loop habit, a
  track block) exists from its onset, and a caution during it but before the start is counted,
  with a negative lag. The onset is the day after the runner's quiet "baseline" window (set B)
  or the first day of the injected pattern (set A); without one it is the start;
* every "warn_info" expectation: a finding (info is enough) on its start day;
* every "quiet" window: nothing at caution or higher inside it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from workers.analysis.severity import at_least

MONTH_DAYS = 30.44
WARN_DAYS = 7


@dataclass
class Expect:
    kind: str  # the pattern's own name (set B's, or ours)
    start: date
    expect: str  # warn | warn_info | quiet
    rules: tuple[str, ...] = ()  # the engine's rules this pattern is about (for the table)
    end: date | None = None
    onset: date | None = None  # the pattern exists from here (<= start)


@dataclass
class Case:
    name: str
    control: bool
    first: date  # first run
    last: date  # last run
    findings: list
    expects: list[Expect] = field(default_factory=list)


def control_rates(cases: list[Case]) -> tuple[Counter, Counter, float, list]:
    cautions, infos, months, alerts = Counter(), Counter(), 0.0, []
    for c in cases:
        if not c.control:
            continue
        after = c.first + timedelta(days=30)
        months += max((c.last - after).days, 0) / MONTH_DAYS
        for f in c.findings:
            if f.date < after:
                continue
            strong = at_least(f.severity, "caution")
            (cautions if strong else infos)[f.rule] += 1
            if strong:
                alerts.append((c.name, f))
    return cautions, infos, months, alerts


def judge(c: Case, e: Expect) -> tuple[bool, str]:
    if e.expect == "warn":
        hits = [f for f in c.findings if at_least(f.severity, "caution")
                and (e.onset or e.start) <= f.date <= e.start + timedelta(days=WARN_DAYS)]
        if not hits:
            return False, "missed"
        on_rule = [f for f in hits if f.rule in e.rules] or hits
        f = on_rule[0]
        other = "" if f.rule in e.rules else " (not the pattern's rule)"
        return True, f"{f.rule} {f.severity} after {(f.date - e.start).days} d{other}"
    if e.expect == "warn_info":
        hits = [f for f in c.findings if f.date == e.start]
        return bool(hits), (", ".join(f"{f.rule} {f.severity}" for f in hits) or "missed")
    end = e.end or c.last
    loud = [f for f in c.findings if at_least(f.severity, "caution") and e.start <= f.date <= end]
    return not loud, ("quiet" if not loud else
                      "; ".join(f"{f.date} {f.rule} {f.severity}" for f in loud[:4]))


def report(label: str, cases: list[Case], verbose: bool = False) -> dict:
    """Print the set's figures; return them for the per-rule table."""
    cautions, infos, months, alerts = control_rates(cases)
    rate = len(alerts) / months if months else 0.0
    print(f"\n=== {label}: {len(cases)} runners, load average "
          f"{os.getloadavg()[0]:.1f} ===")
    print(f"Controls ({sum(c.control for c in cases)}), after their first 30 days "
          f"({months:.1f} runner-months):")
    print(f"  {'rule':<20} {'caution+/runner-month':>22} {'info/runner-month':>18}")
    for rule in sorted(set(cautions) | set(infos)):
        print(f"  {rule:<20} {cautions[rule] / months:>22.3f} {infos[rule] / months:>18.3f}")
    print(f"  {'ALL':<20} {rate:>22.3f}   target <= 0.25: {'PASS' if rate <= 0.25 else 'FAIL'}")
    for name, f in alerts if verbose else alerts[:12]:
        print(f"    control alert: {name:<28} {f.date} {f.rule} {f.severity} value={f.value}")
    rows = []
    for c in cases:
        for e in c.expects:
            ok, how = judge(c, e)
            rows.append((c, e, ok, how))
    print("Expectations (warn: caution+ within 7 days of start; warn_info: a finding on the day; "
          "quiet: no caution+):")
    for c, e, ok, how in rows:
        print(f"  {c.name:<28} {e.kind:<20} {e.expect:<9} {e.start} {'YES' if ok else 'NO ':<4}"
              f" {how}")
    summary = {}
    for kind in ("warn", "warn_info", "quiet"):
        picked = [ok for _, e, ok, _ in rows if e.expect == kind]
        if picked:
            share = sum(picked) / len(picked)
            target = {"warn": " target >= 95%: " + ("PASS" if share >= 0.95 else "FAIL")}.get(
                kind, "")
            print(f"  {kind:<9} {sum(picked)}/{len(picked)} ({share:.0%}){target}")
            summary[kind] = (sum(picked), len(picked))
    return {"cautions": cautions, "infos": infos, "months": months, "rate": rate, "rows": rows,
            "summary": summary}


def caught_by(c: Case, e: Expect, rule: str) -> bool:
    """Did this rule itself warn (caution+) within the pattern's window, first or not?"""
    return any(f.rule == rule and at_least(f.severity, "caution")
               and (e.onset or e.start) <= f.date <= e.start + timedelta(days=WARN_DAYS)
               for f in c.findings)


def per_rule(sets: dict[str, dict]) -> None:
    """One line per rule and set: control caution+/info per runner-month; warn patterns about
    the rule detected at caution+ (by any rule / by this rule)."""
    rules = sorted({r for s in sets.values() for r in (*s["cautions"], *s["infos"])}
                   | {r for s in sets.values() for _, e, _, _ in s["rows"] for r in e.rules})
    print("\nPer rule, both sets (controls after day 30, per runner-month; warn patterns about "
          "the rule: detected at caution+ within 7 days, by this rule)")
    print(f"  {'rule':<20} {'set':<4} {'ctl caution+':>12} {'ctl info':>9} {'patterns':>9} "
          f"{'by rule':>8}")
    for rule in rules:
        for label, s in sets.items():
            about = [(e, ok, how) for _, e, ok, how in s["rows"]
                     if e.expect == "warn" and rule in e.rules]
            by_rule = sum(caught_by(c, e, rule) for c, e, _, _ in s["rows"]
                          if e.expect == "warn" and rule in e.rules)
            print(f"  {rule:<20} {label:<4} {s['cautions'][rule] / s['months']:>12.3f} "
                  f"{s['infos'][rule] / s['months']:>9.3f} "
                  f"{sum(ok for _, ok, _ in about):>4}/{len(about):<4} {by_rule:>8}")
