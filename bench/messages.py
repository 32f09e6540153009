"""Messages per runner per bad week: one per finding, main's grouping before, the grouping now.

Takes the cohort of bench/cohort.py (14 runners x 16 weeks of real files through the real parser)
and six more runners: each control runner again, with one bad week (week 15: a long run on
Tuesday, 1.6x their usual long run, and a mountain race on Sunday, in a week about 1.5x their
usual volume: the week the product exists for). Stores every run as a Strava activity of a
runner who chose email and the description note, and feeds the runs in order through the real
analyze job and deliver job (SQLite, the embedded queue, emails to a temporary outbox; the note
sender finds no Strava connection, so a planned note counts as one description write). After
each analysis it counts:

* per finding: one email and one note per new caution-or-higher finding (what "one message per
  finding" would send);
* before: the planner before this change: one email per analysis with a new caution-or-higher
  finding, one note per activity with a new caution-or-higher run finding (week findings never
  reached a note);
* now: the delivery rows the planner really wrote (emails, note rows); findings a waiting email
  took in are not new rows. Webhooks (`finding.created`, one per finding) are the same in all.

Two arrivals: each run uploaded on its day (analysed and delivered before the next), and a week
of runs synced at once (the week's analyses, then its deliveries, as the queue orders them).

A bad week is a runner's local week (Monday start) with at least one caution-or-higher finding;
messages count in the week of the run whose upload caused them (a synced week: its last run).
Prints the figures.

    python bench/messages.py [--data PATH] [--weeks N]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import cohort as cohort_bench  # the sibling script (this folder is first on sys.path)
from cryptography.fernet import Fernet
from sqlalchemy import select

from service import create_app
from service.domain import accounts
from service.infra import migrate
from service.infra.corpus import SHARED_DATA
from service.infra.settings import Settings
from service.models import Activity, Athlete, Delivery, Finding
from workers.analysis.history import local_offset
from workers.analysis.severity import at_least, rank
from workers.analyze import analyze_activity, local_date

CHANNELS = ("email", "note")
BAD_WEEK = 14  # 0-based: the 15th of 16 weeks (no holiday, taper or race there in any control)
POLICIES = ("per finding", "before", "now")


def with_bad_week(r, week: int = BAD_WEEK):
    """A control runner again, with one bad week: easy Monday, Thursday and Saturday runs, a long
    run on Tuesday (1.6x their usual long run) and a mountain race on Sunday."""
    usual = [p for p in r.plans if p.day // 7 == week - 1]
    volume = sum(p.km for p in usual)
    long_km = max(p.km for p in usual)
    d = 7 * week
    bad = [cohort_bench.Plan(d, round(0.15 * volume, 1)),
           cohort_bench.Plan(d + 1, round(1.6 * long_km, 1)),
           cohort_bench.Plan(d + 3, round(0.2 * volume, 1)),
           cohort_bench.Plan(d + 5, round(0.15 * volume, 1)),
           cohort_bench.Plan(d + 6, round(1.1 * long_km, 1), route="mountain", race=True)]
    bad = [replace(p, hour=usual[0].hour) for p in bad]
    plans = [p for p in r.plans if p.day // 7 != week] + bad
    return replace(r, name=r.name.replace("ctl-", "bad-"), kind="bad_week",
                   plans=sorted(plans, key=lambda p: p.day))


def runtime_in(tmp: Path):
    url = f"sqlite:///{tmp / 'messages.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key="bench", public_url="http://127.0.0.1:8000",
                        encryption_keys=(Fernet.generate_key().decode(),),
                        email_outbox_dir=str(tmp / "outbox"), notify_max_age_days=100_000)
    return create_app(settings).extensions["kneeguard"]


def store(rt, athlete_id: str, item) -> str:
    m = item.metrics
    with rt.db.session() as s:
        a = Activity(athlete_id=athlete_id, source="strava", provider_activity_id=item.id,
                     start_time=m.start_time, sport=m.sport, sub_sport=m.sub_sport,
                     distance_m=m.distance_m, moving_time_s=m.moving_time_s, indoor=m.indoor,
                     manual=m.manual, gear_id=m.gear_id, loss_m=m.elevation.loss_m,
                     metrics=m.to_dict(), status="parsed")
        s.add(a)
        s.flush()
        return a.id


def findings_of(rt, athlete_id: str) -> dict[str, Finding]:
    with rt.db.session() as s:
        rows = s.scalars(select(Finding).where(Finding.athlete_id == athlete_id)).all()
        s.expunge_all()
        return {f.id: f for f in rows}


def rows_of(rt, athlete_id: str) -> set[tuple[str, str]]:
    with rt.db.session() as s:
        return set(tuple(r) for r in s.execute(select(Delivery.id, Delivery.channel).where(
            Delivery.athlete_id == athlete_id, Delivery.event_type.like("finding.%"),
            Delivery.channel.in_(("email", "strava_note")))).all())


def step_counts(new: list[Finding]) -> dict[str, Counter]:
    """What one analysis would send one message per finding, and with the planner before."""
    loud = [f for f in new if at_least(f.severity, "caution")]
    return {
        "per finding": Counter(email=len(loud), note=len(loud)),
        "before": Counter(email=int(bool(loud)),
                          note=len({f.activity_id for f in loud if f.activity_id})),
    }


def now_counts(rows: set[tuple[str, str]]) -> Counter:
    """What the planner now wrote: new email rows and note rows."""
    return Counter(email=sum(c == "email" for _, c in rows),
                   note=sum(c == "strava_note" for _, c in rows))


def run_runner(rt, runner, history, batched: bool) -> tuple[dict, set[date]]:
    """Feed a runner's runs in order: one at a time, each analysed and delivered as it arrives,
    or (`batched`) a week at a time, as a watch that syncs on Sunday night: the week's analyses
    run first (the queue serves "analyze" before "notify"), then its deliveries."""
    athlete_id, _ = accounts.add_athlete(rt, f"{runner.name}-{int(batched)}@bench.invalid")
    with rt.db.session() as s:
        s.get(Athlete, athlete_id).note_writeback = True
    by_week: dict[date, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    state = {"known": set(), "rows": set()}
    for batch in batches(history, batched):
        ids = [store(rt, athlete_id, item) for item in batch]
        weeks = []
        for activity_id in ids:
            analyze_activity(activity_id)  # the job itself; its deliveries wait in the queue
            new = [f for i, f in findings_of(rt, athlete_id).items() if i not in state["known"]]
            state["known"] |= {f.id for f in new}
            weeks.append(monday(run_day(rt, activity_id)))
            by_week[weeks[-1]]["per finding"] += step_counts(new)["per finding"]
            by_week[weeks[-1]]["before"] += step_counts(new)["before"]
        rt.queue.drain()
        rows = rows_of(rt, athlete_id)
        by_week[weeks[-1]]["now"] += now_counts(rows - state["rows"])
        state["rows"] = rows
    bad = {monday(f.date) for f in findings_of(rt, athlete_id).values()
           if rank(f.severity) >= rank("caution")}
    return by_week, bad, unheard(rt, athlete_id)


def batches(history, batched: bool) -> list[list]:
    if not batched:
        return [[item] for item in history]
    weeks: dict[date, list] = defaultdict(list)
    for item in history:  # local weeks: a Los Angeles Sunday evening is Monday in UTC
        m = item.metrics
        local = m.start_time + timedelta(seconds=local_offset(m.utc_offset_s))
        weeks[monday(local.date())].append(item)
    return [weeks[w] for w in sorted(weeks)]


def unheard(rt, athlete_id: str) -> Counter:
    """Caution-or-higher findings whose topic (rule, week) no sent email told at their severity,
    or that no note row carries (now); and those the planner before could not put on a note
    (week findings: no run of their own)."""
    with rt.db.session() as s:
        loud = [f for f in s.scalars(select(Finding).where(Finding.athlete_id == athlete_id))
                if at_least(f.severity, "caution")]
        rows = s.scalars(select(Delivery).where(Delivery.athlete_id == athlete_id,
                                                Delivery.channel.in_(("email", "strava_note"))))
        told, noted = set(), set()  # told: (rule, week, severity rank) of sent emails
        for d in rows:
            payload = d.payload or {}
            if d.channel == "email" and d.status == "sent":
                topics = payload.get("topics", {})
                told |= {(t[0], t[1], rank(t[2])) for i, t in topics.items()
                         if i in payload.get("included", ())}
            elif d.channel == "strava_note":
                noted |= set(payload.get("finding_ids", ()))
    heard = {(rule, week): level for rule, week, level in sorted(told, key=lambda t: t[2])}
    return Counter(email_now=sum(heard.get((f.rule, monday(f.date).isoformat()), -1)
                                 < rank(f.severity) for f in loud),
                   note_now=sum(f.id not in noted for f in loud),
                   note_before=sum(f.activity_id is None for f in loud))


def run_day(rt, activity_id: str) -> date:
    with rt.db.session() as s:
        return local_date(s.get(Activity, activity_id))


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def summarise(results) -> None:
    per = {p: {c: [] for c in CHANNELS} for p in POLICIES}
    quiet = Counter()
    bad_weeks = 0
    missed = sum((r[2] for r in results), Counter())
    for by_week, bad, _ in results:
        bad_weeks += len(bad)
        for week in bad:
            for p in POLICIES:
                for c in CHANNELS:
                    per[p][c].append(by_week.get(week, {}).get(p, Counter())[c])
        for week, counts in by_week.items():
            if week not in bad:
                for p in POLICIES:
                    quiet[p] += sum(counts[p].values())
    print(f"Bad weeks (a caution or higher finding): {bad_weeks}")
    print(f"  {'channel':<12} " + " ".join(f"{p + ' mean/max/total':>24}" for p in POLICIES))
    for c in CHANNELS:
        cells = [f"{sum(v) / max(len(v), 1):>8.2f} / {max(v, default=0):>3} / {sum(v):>5}"
                 for v in (per[p][c] for p in POLICIES)]
        print(f"  {c:<12} " + " ".join(f"{x:>24}" for x in cells))
    both = [[e + n for e, n in zip(per[p]["email"], per[p]["note"], strict=True)]
            for p in POLICIES]
    cells = [f"{sum(v) / max(len(v), 1):>8.2f} / {max(v, default=0):>3} / {sum(v):>5}"
             for v in both]
    print(f"  {'both':<12} " + " ".join(f"{x:>24}" for x in cells))
    print("Messages in the other weeks (emails + notes): "
          + ", ".join(f"{p} {quiet[p]}" for p in POLICIES))
    print(f"Caution-or-higher findings whose rule and week were never emailed: now "
          f"{missed['email_now']}")
    print(f"Caution-or-higher findings never on a note: before {missed['note_before']} (week "
          f"findings have no run of their own), now {missed['note_now']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--weeks", type=int, default=16)
    args = parser.parse_args(argv)
    builder = cohort_bench.Builder(args.data)
    runners = cohort_bench.cohort(args.weeks)
    runners += [with_bad_week(r) for r in runners if r.kind == "control"]
    histories = [builder.history(r) for r in runners]
    runs = sum(len(h) for h in histories)
    print(f"Cohort: {len(runners)} runners x {args.weeks} weeks ({runs} runs; the 6 controls "
          "again with a bad week)")
    for batched, what in ((False, "each run uploaded the day it is run"),
                          (True, "a week of runs synced at once (Sunday night)")):
        with tempfile.TemporaryDirectory() as tmp:
            rt = runtime_in(Path(tmp))
            try:
                results = [run_runner(rt, r, h, batched) for r, h in zip(runners, histories,
                                                                          strict=True)]
            finally:
                rt.close()
        print(f"\nArrival: {what}")
        summarise(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
