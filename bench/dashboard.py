"""Server time of a club dashboard and of a runner's own pages, with issue 28's targets.

    python bench/dashboard.py --members 10000 --weeks 52   # issue 28's club (≈2.08 M runs)
    python bench/dashboard.py                               # 1,000 members × 104 weeks
    python bench/dashboard.py --quick                       # 200 members × 26 weeks (CI smoke)

Database: BENCH_DATABASE_URL, else DATABASE_URL (PostgreSQL; never point either at real data:
its tables are emptied when it does not hold this bench's club), else a SQLite file kept in the
system's temp folder. The seeded club is kept and reused by the next run of the same shape
(bench/dashboard_seed.py; `--fresh` seeds again): seeding 10,000 × 52 weeks takes minutes.

Times, through the WSGI app in-process: GET /clubs/<id> (50 members a page, 100 sparklines) for
the first, a middle and the last page; every page of GET /v1/clubs/<id>/members (following
`next_cursor`); a runner with ten years of runs (/me, the activities list, the findings list).
Beside the wall figures, which depend on what else the machine runs (the load average is
printed before and after), figures that do not: SQL statements per request, rows PostgreSQL
read and buffers it touched per page (bench/dashboard_plans.py), and the page query's EXPLAIN
ANALYZE. Also: a page read when every member's ranking key is due (right after the migration)
and when `--marked` members' keys were marked by new findings. Prints JSON, then the targets
with PASS or MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from dashboard_plans import Statements, page_query_plan, page_structure
from dashboard_seed import activity, finding, prepare, settle
from sqlalchemy import delete, func, insert, select, update

from service import create_app
from service.domain import accounts, clubs
from service.infra import memory, migrate
from service.infra.settings import Settings
from service.models import Activity, ClubMember, Finding

TARGET_MS = 100


def _database_url(args) -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return Settings.from_env({"DATABASE_URL": url, "KNEEGUARD_SECRET_KEY": "x",
                                  "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
                                 ).database_url
    path = args.db_file or (Path(tempfile.gettempdir())
                            / f"kneeguard-bench-dashboard-{args.members}x{args.weeks}.db")
    return f"sqlite:///{path}"


def _app(url: str):
    migrate.upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="bench",
                              encryption_keys=(Fernet.generate_key().decode(),)))
    app.config["RATE_LIMITS"] = {"key": 10**9, "address": 10**9}
    memory.freeze_long_lived()  # as a web process does once its app is built (infra/server.py)
    return app


def timed(client, path: str, headers: dict, repeat: int, statements: Statements) -> dict:
    times, cpu, size, count = [], [], 0, 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        with statements.recording() as seen:
            r = client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, r.get_data()[:300]
        size, count = len(r.get_data()), count + len(seen)
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(_p95(times), 1),
            "min_ms": round(min(times), 1), "max_ms": round(max(times), 1), "bytes": size,
            "cpu_ms_median": round(statistics.median(cpu), 1),
            "statements_per_request": round(count / repeat, 1)}


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _load() -> list[float]:
    """The machine's 1/5/15-minute load average: the figures mean little without it."""
    return [round(x, 2) for x in os.getloadavg()]


def paged_api(client, club_id: str, headers: dict) -> dict:
    """Every page of GET /v1/clubs/<id>/members, following the cursor (default page size)."""
    times, cpu, pages, cursor, members = [], [], 0, None, 0
    while True:
        path = f"/v1/clubs/{club_id}/members" + (f"?cursor={cursor}" if cursor else "")
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, r.get_data()[:300]
        pages, members = pages + 1, members + len(r.json["members"])
        cursor = r.json.get("next_cursor")
        if not cursor:
            break
    return {"pages": pages, "members": members, "first_ms": round(times[0], 1),
            "last_ms": round(times[-1], 1), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(_p95(times), 1), "max_ms": round(max(times), 1),
            "cpu_ms_median": round(statistics.median(cpu), 1),
            "cpu_ms_max": round(max(cpu), 1), "bytes_last_page": len(r.get_data())}


def runner_pages(rt, client, years: int, repeat: int, statements: Statements) -> dict:
    """One runner with `years` of runs (4 a week, ~12% with a finding): their own pages. Kept
    with the club between runs (a new token each run)."""
    athlete_id, token = accounts.add_athlete(rt, f"runner{years}y@bench.invalid")
    with rt.db.session() as s:
        kept = s.scalar(select(func.count()).select_from(Activity)
                        .where(Activity.athlete_id == athlete_id))
    if not kept:
        _seed_runner(rt, athlete_id, years)
    with rt.db.session() as s:
        n_acts = s.scalar(select(func.count()).select_from(Activity)
                          .where(Activity.athlete_id == athlete_id))
        n_finds = s.scalar(select(func.count()).select_from(Finding)
                           .where(Finding.athlete_id == athlete_id))
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"me": "/me", "activities": f"/v1/athletes/{athlete_id}/activities",
             "findings": f"/v1/athletes/{athlete_id}/findings"}
    out: dict = {"years": years, "activities": n_acts, "findings": n_finds}
    for name, path in paths.items():
        out[name] = timed(client, path, headers, repeat, statements)
    return out


def _seed_runner(rt, athlete_id: str, years: int) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    acts, finds = [], []
    for day in range(years * 365, 0, -1):
        if rng.random() > 4 / 7:
            continue
        acts.append(activity(athlete_id, now - timedelta(days=day), rng, now))
        if rng.random() < 0.12:
            finds.append(finding(athlete_id, acts[-1], rng, now))
    with rt.db.engine.begin() as conn:
        conn.execute(insert(Activity), acts)
        conn.execute(insert(Finding), finds)


def _mark_due(rt, club_id: str, count: int | None) -> None:
    """Make keys due as the triggers would: every member's (None), or `count` members' through
    a real write (a new finding each, on their latest run)."""
    with rt.db.session() as s:
        if count is None:
            s.execute(update(ClubMember).where(ClubMember.club_id == club_id)
                      .values(rank_due_on=datetime(1970, 1, 1).date()))
            return
        ids = s.scalars(select(ClubMember.athlete_id).where(ClubMember.club_id == club_id)
                        .order_by(func.random()).limit(count)).all()
        rng, now = random.Random(), datetime.now(UTC)
        for aid in ids:
            run = s.execute(select(Activity.id, Activity.start_time, Activity.source)
                            .where(Activity.athlete_id == aid)
                            .order_by(Activity.start_time.desc()).limit(1)).one()
            row = finding(aid, {"id": run.id, "start_time": run.start_time,
                                "source": run.source}, rng, now)
            s.execute(insert(Finding), [dict(row, rule="bench_marked")])


def once(client, path: str, headers: dict, statements: Statements) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    with statements.recording() as seen:
        r = client.get(path, headers=headers)
    assert r.status_code == 200, r.get_data()[:300]
    return {"ms": round((time.perf_counter() - t0) * 1000, 1),
            "cpu_ms": round((time.process_time() - c0) * 1000, 1), "statements": len(seen)}


def due_per_day(rt, club_id: str) -> dict:
    """How many members' keys fall due on each of the next 28 days with no write at all (a
    finding leaving the window): the work of each day's first dashboard read."""
    from service.domain.club_stats import today

    start = today()
    with rt.db.session() as s:
        rows = s.execute(select(ClubMember.rank_due_on, func.count())
                         .where(ClubMember.club_id == club_id,
                                ClubMember.rank_due_on > start,
                                ClubMember.rank_due_on <= start + timedelta(days=28))
                         .group_by(ClubMember.rank_due_on)).all()
        never = s.scalar(select(func.count()).select_from(ClubMember)
                         .where(ClubMember.club_id == club_id,
                                ClubMember.rank_due_on.is_(None)))
    counts = [n for _, n in rows] or [0]
    return {"median": statistics.median(counts), "max": max(counts),
            "members_never_due": never}


def _pages(members: int) -> int:
    from service.web.pages.views import PER_PAGE

    return max(1, -(-members // PER_PAGE))


def measure(rt, client, club_id: str, members: int, args, statements: Statements) -> dict:
    key_headers = _club_key(rt, club_id)
    page = f"/clubs/{club_id}?page="
    out: dict = {}
    with rt.db.session() as s:  # the previous run's (a kept club)
        s.execute(delete(Finding).where(Finding.rule == "bench_marked"))
    _mark_due(rt, club_id, None)
    out["page_with_every_key_due"] = once(client, page + "1", key_headers, statements)
    settle(rt)
    out["keys_due_per_day_next_28_days"] = due_per_day(rt, club_id)
    client.get(page + "1", headers=key_headers)  # warm templates and plans
    pages = _pages(members)
    numbers = {"page_first": 1, "page_middle": pages // 2 + 1, "page_last": pages}
    # Pages in turn, more than five times each: a statement PostgreSQL has run five times may
    # get a generic plan, which is what made the later pages slow before.
    for label, number in numbers.items():
        out[label] = dict(timed(client, page + str(number), key_headers, args.repeat,
                                statements), page=number)
    _mark_due(rt, club_id, args.marked)
    out[f"page_after_{args.marked}_new_findings"] = once(client, page + "1", key_headers,
                                                          statements)
    out["api_members_paged"] = paged_api(client, club_id, key_headers)
    out["runner"] = runner_pages(rt, client, args.runner_years, args.repeat, statements)
    out["structure"] = {label: page_structure(statements, client, page + str(number),
                                              key_headers)
                        for label, number in numbers.items()}
    out["structure"]["api_members_first"] = page_structure(
        statements, client, f"/v1/clubs/{club_id}/members", key_headers)
    if rt.db.engine.dialect.name == "postgresql":
        out["page_query_plan_last_page"] = page_query_plan(rt, club_id, (pages - 1) * 50, 50)
    return out


def _club_key(rt, club_id: str) -> dict:
    with rt.db.session() as s:
        _, key = clubs.issue_key(s, "club", "bench", ["read"], club_id=club_id)
    return {"Authorization": f"Bearer {key}"}


def verdicts(out: dict) -> list[str]:
    """Issue 28's Done-when lines, each with its figure."""
    lines = []
    for label in ("page_first", "page_middle", "page_last"):
        ms = out[label]["median_ms"]
        lines.append(f"dashboard {label[5:]:6} page {out[label]['page']:>4}: median {ms:7.1f} ms"
                     f"  (p95 {out[label]['p95_ms']:.1f}, CPU {out[label]['cpu_ms_median']:.1f})"
                     f"  {_verdict(ms)}")
    api = out["api_members_paged"]
    lines.append(f"members API, {api['pages']} pages: slowest {api['max_ms']:.1f} ms, median "
                 f"{api['median_ms']:.1f} ms (CPU median {api['cpu_ms_median']:.1f}, max "
                 f"{api['cpu_ms_max']:.1f})  {_verdict(api['max_ms'])}")
    for name in ("me", "activities", "findings"):
        ms = out["runner"][name]["p95_ms"]
        lines.append(f"runner {name:10}: p95 {ms:7.1f} ms  (median "
                     f"{out['runner'][name]['median_ms']:.1f}, CPU "
                     f"{out['runner'][name]['cpu_ms_median']:.1f})  {_verdict(ms)}")
    cold, marked = out["page_with_every_key_due"], out[f"page_after_{out['marked']}_new_findings"]
    lines.append(f"(not targets: a page when every key is due, as after the migration: "
                 f"{cold['ms']:.0f} ms, {cold['cpu_ms']:.0f} ms CPU; after {out['marked']} new "
                 f"findings: {marked['ms']:.0f} ms, {marked['cpu_ms']:.0f} ms CPU)")
    return lines


def _verdict(ms: float) -> str:
    return f"PASS (≤ {TARGET_MS} ms)" if ms <= TARGET_MS else f"MISS (> {TARGET_MS} ms)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 members × 26 weeks")
    ap.add_argument("--members", type=int, default=None)
    ap.add_argument("--weeks", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--runner-years", type=int, default=10)
    ap.add_argument("--marked", type=int, default=100,
                    help="members given a new finding before one more page read")
    ap.add_argument("--fresh", action="store_true", help="seed again even if the club is kept")
    ap.add_argument("--db-file", help="SQLite file to keep (default: in the temp folder)")
    args = ap.parse_args()
    args.members = args.members or (200 if args.quick else 1000)
    args.weeks = args.weeks or (26 if args.quick else 104)
    app = _app(_database_url(args))
    rt = app.extensions["kneeguard"]
    out: dict = {"database": rt.db.engine.dialect.name, "members": args.members,
                 "weeks": args.weeks, "marked": args.marked, "load_average_before": _load()}
    prep = prepare(rt, args.members, args.weeks, args.fresh)
    out.update(prep)
    statements = Statements(rt.db.engine)
    out.update(measure(rt, app.test_client(), prep["club_id"], args.members, args, statements))
    out["load_average_after"] = _load()
    rt.close()
    print(json.dumps(out, indent=2))
    print(f"\nIssue 28, Done when ({out['database']}, {args.members} members × {args.weeks} "
          f"weeks; load average {out['load_average_before']} → {out['load_average_after']} on "
          f"{os.cpu_count()} cores):")
    print("\n".join("  " + line for line in verdicts(out)))


if __name__ == "__main__":
    main()
