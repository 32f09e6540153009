"""Server time to render a club dashboard: 1,000 consenting members with 2 years of history.

    python bench/dashboard.py            # 1,000 members × 104 weeks × 4 runs (≈416k activities)
    python bench/dashboard.py --quick    # 200 members × 26 weeks (CI smoke)
    python bench/dashboard.py --members 10000 --weeks 52   # issue 28's club (≈2.08 M runs)

Also times the paged all-members API (every page, following `next_cursor`: first, last, median
and p95) and a runner with ten years of runs (`--runner-years`): /me, the activities list and,
where the route exists, the findings list (each: median and p95).

Seeds by direct bulk inserts (activities with compact metrics, findings with mixed sources, some
private and Strava runs that the club must not see) into a fresh SQLite file, or into DATABASE_URL
when set (its tables are emptied first: point it at a scratch database). Then times, through the
WSGI app in-process: GET /clubs/<id> (page 1, the most at risk), a middle and the last page (50
members each, 100 sparklines), and GET /v1/clubs/<id>/members (all members, JSON); median and p95
per page, and the load average before and after (the figures depend on what else runs).
Target: ≤ 100 ms per page. Prints JSON.
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
from sqlalchemy import insert, text

from service import create_app
from service.domain import clubs
from service.infra import migrate
from service.infra.settings import Settings
from service.models import Activity, Athlete, ClubMember, Finding, new_id

RULES = ("single_run_spike", "weekly_jump", "downhill_novel", "weekly_descent", "route_repetition")
SEVERITIES = ("info", "caution", "caution", "high")


def _settings(tmp: Path, db_file: str | None) -> Settings:
    url = os.environ.get("DATABASE_URL") or (f"sqlite:///{db_file}" if db_file else None)
    url = (Settings.from_env({"DATABASE_URL": url, "KNEEGUARD_SECRET_KEY": "x",
                              "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
           .database_url if url else f"sqlite:///{tmp / 'bench.db'}")
    migrate.upgrade(url)
    return Settings(database_url=url, secret_key="bench",
                    encryption_keys=(Fernet.generate_key().decode(),))


def _metrics(start: datetime, km: float, loss: float) -> dict:
    # Compact: the dashboard reads distance and elevation loss only (no route segment keys).
    return {"start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "sport": "running",
            "distance_m": km * 1000, "elevation": {"loss_m": loss, "gain_m": loss,
                                                    "altitude_source": "barometric"}}


def seed(rt, members: int, weeks: int, rng: random.Random) -> tuple[str, int, int]:
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    with rt.db.session() as s:
        club = clubs.create_club(s, "Bench Harriers")
        club_id = club.id
    athletes, memberships, acts, finds = [], [], [], []
    for i in range(members):
        aid = new_id("ath")
        athletes.append({"id": aid, "email": f"m{i}@bench.invalid", "name": f"Member {i:04d}",
                         "preferences": {}, "thresholds": {}, "note_writeback": False,
                         "created_at": now})
        memberships.append({"id": new_id("mem"), "club_id": club_id, "athlete_id": aid,
                            "role": "member", "consent_scope": list(clubs.CONSENT_SCOPES),
                            "consented_at": now, "created_at": now})
        for day in range(weeks * 7, 0, -1):
            if rng.random() > 4 / 7:
                continue
            start = now - timedelta(days=day)
            km, loss = rng.uniform(4, 22), rng.uniform(0, 600)
            source = "strava" if rng.random() < 0.15 else "garmin"
            acts.append({"id": new_id("act"), "athlete_id": aid, "source": source,
                         "start_time": start, "sport": "running", "distance_m": km * 1000,
                         "moving_time_s": km * 330, "indoor": False, "manual": False,
                         "private": rng.random() < 0.05, "status": "analyzed", "leg": 0,
                         "metrics": _metrics(start, km, loss), "loss_m": loss, "created_at": now,
                         "updated_at": now})
            if rng.random() < 0.12:
                finds.append(_finding(aid, acts[-1], rng, now))
    with rt.db.engine.begin() as conn:
        conn.execute(insert(Athlete), athletes)
        conn.execute(insert(ClubMember), memberships)
        for chunk in range(0, len(acts), 20_000):
            conn.execute(insert(Activity), acts[chunk:chunk + 20_000])
        conn.execute(insert(Finding), finds)
        if conn.dialect.name != "postgresql":
            conn.execute(text("ANALYZE"))
    if rt.db.engine.dialect.name == "postgresql":
        # Steady state: autovacuum keeps the visibility map current, which index-only scans need.
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return club_id, len(acts), len(finds)


def _finding(aid: str, act: dict, rng: random.Random, now: datetime) -> dict:
    sev = rng.choice(SEVERITIES)
    return {"id": new_id("fnd"), "athlete_id": aid, "activity_id": act["id"],
            "subject": act["id"], "rule": rng.choice(RULES), "date": act["start_time"].date(),
            "severity": sev, "value": 1.4, "threshold": 1.3, "message": "bench finding",
            "evidence": {}, "sources": [act["source"]], "created_at": now, "updated_at": now}


def _existing(rt) -> tuple[str, int, int]:
    from sqlalchemy import func, select

    from service.models import Club

    with rt.db.session() as s:
        return (s.scalar(select(Club.id).where(Club.name == "Bench Harriers")),
                s.scalar(select(func.count()).select_from(Activity)),
                s.scalar(select(func.count()).select_from(Finding)))


STATEMENTS = [0]


def _count_statements(engine) -> None:
    """SQL statements per request: a figure the machine's load does not change."""
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute",
                 lambda *_: STATEMENTS.__setitem__(0, STATEMENTS[0] + 1))


def timed(client, path: str, headers: dict, repeat: int) -> dict:
    times, size, cpu = [], 0, []
    STATEMENTS[0] = 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, r.get_data()[:300]
        size = len(r.get_data())
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(_p95(times), 1),
            "min_ms": round(min(times), 1), "max_ms": round(max(times), 1), "bytes": size,
            "cpu_ms_median": round(statistics.median(cpu), 1),
            "statements_per_request": round(STATEMENTS[0] / repeat, 1)}


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _load() -> list[float]:
    """The machine's 1/5/15-minute load average: the figures mean little without it."""
    return [round(x, 2) for x in os.getloadavg()]


def breakdown(rt, club_id: str) -> dict:
    """Where the time goes: each query of the dashboard alone (median of 7; a page reads the
    first four, the JSON API of all members the last three)."""
    from service.domain import club_stats

    as_of = club_stats.today()
    since = as_of - timedelta(days=27)
    with rt.db.session() as s:
        page_ids = [r["athlete_id"] for r in club_stats.dashboard(s, club_id, as_of, page=2)]
    parts = {
        "members": lambda s: club_stats.sharing_members(s, club_id),
        "rank_severities": lambda s: club_stats.recent_severities(s, club_id, since, as_of),
        "page_findings": lambda s: club_stats.visible_findings(s, since, as_of,
                                                               athlete_ids=page_ids),
        "page_weekly_sums": lambda s: club_stats.weekly_sums(s, as_of, 12, athlete_ids=page_ids),
        "dashboard_page_1": lambda s: club_stats.dashboard(s, club_id, as_of, page=1),
        "club_weekly_sums": lambda s: club_stats.weekly_sums(s, as_of, 12, club_id=club_id),
        "club_findings": lambda s: club_stats.visible_findings(s, since, as_of, club_id=club_id),
        "dashboard_all": lambda s: club_stats.dashboard(s, club_id, as_of),
    }
    out = {}
    for name, fn in parts.items():
        times = []
        for _ in range(7):
            with rt.db.session() as s:
                t0 = time.perf_counter()
                fn(s)
                times.append((time.perf_counter() - t0) * 1000)
        out[name] = round(statistics.median(times), 1)
    return out


def paged_api(client, club_id: str, headers: dict) -> dict:
    """Every page of GET /v1/clubs/<id>/members, following the cursor (default page size)."""
    times, pages, cursor, members = [], 0, None, 0
    while True:
        path = f"/v1/clubs/{club_id}/members" + (f"?cursor={cursor}" if cursor else "")
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.get_data()[:300]
        pages, members = pages + 1, members + len(r.json["members"])
        cursor = r.json.get("next_cursor")
        if not cursor:
            break
    return {"pages": pages, "members": members, "first_ms": round(times[0], 1),
            "last_ms": round(times[-1], 1), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(_p95(times), 1), "bytes_last_page": len(r.get_data())}


def runner_pages(rt, client, years: int, repeat: int) -> dict:
    """One runner with `years` of runs (4 a week, ~12% with a finding): their own pages."""
    from service.domain import accounts

    athlete_id, token = accounts.add_athlete(rt, "runner@bench.invalid")
    rng, now = random.Random(11), datetime.now(UTC).replace(hour=7, minute=0, second=0,
                                                            microsecond=0)
    acts, finds = [], []
    for day in range(years * 365, 0, -1):
        if rng.random() > 4 / 7:
            continue
        acts.append(_activity(athlete_id, now - timedelta(days=day), rng, now))
        if rng.random() < 0.12:
            finds.append(_finding(athlete_id, acts[-1], rng, now))
    with rt.db.engine.begin() as conn:
        conn.execute(insert(Activity), acts)
        conn.execute(insert(Finding), finds)
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"me": "/me", "activities": f"/v1/athletes/{athlete_id}/activities",
             "findings": f"/v1/athletes/{athlete_id}/findings"}
    routes = {r.rule for r in client.application.url_map.iter_rules()}
    out: dict = {"years": years, "activities": len(acts), "findings": len(finds)}
    for name, path in paths.items():
        if name == "findings" and "/v1/athletes/<athlete_id>/findings" not in routes:
            out[name] = "no such route in this tree (GET /v1/athletes/<id>/findings)"
            continue
        out[name] = timed(client, path, headers, repeat)
    return out


def _activity(aid: str, start: datetime, rng: random.Random, now: datetime) -> dict:
    km, loss = rng.uniform(4, 22), rng.uniform(0, 600)
    return {"id": new_id("act"), "athlete_id": aid, "source": "garmin", "start_time": start,
            "sport": "running", "distance_m": km * 1000, "moving_time_s": km * 330,
            "indoor": False, "manual": False, "private": False, "status": "analyzed", "leg": 0,
            "metrics": _metrics(start, km, loss), "loss_m": loss, "created_at": now,
            "updated_at": now}


def _pages(members: int) -> int:
    from service.web.pages.views import PER_PAGE

    return max(1, -(-members // PER_PAGE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 members × 26 weeks")
    ap.add_argument("--members", type=int, default=None)
    ap.add_argument("--weeks", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--runner-years", type=int, default=10)
    ap.add_argument("--profile", action="store_true", help="cProfile one page render")
    ap.add_argument("--db-file", help="SQLite file to keep and reuse (seeded only once)")
    args = ap.parse_args()
    members = args.members or (200 if args.quick else 1000)
    weeks = args.weeks or (26 if args.quick else 104)
    with tempfile.TemporaryDirectory() as tmp:
        reuse = bool(args.db_file and Path(args.db_file).exists())
        app = create_app(_settings(Path(tmp), args.db_file))
        app.config["RATE_LIMITS"] = {"key": 10**9, "address": 10**9}
        rt = app.extensions["kneeguard"]
        t0 = time.perf_counter()
        if reuse:
            club_id, n_acts, n_finds = _existing(rt)
        else:
            rt.db.empty_all_tables()
            club_id, n_acts, n_finds = seed(rt, members, weeks, random.Random(7))
        seeded_s = time.perf_counter() - t0
        with rt.db.session() as s:
            _, key = clubs.issue_key(s, "club", "bench", ["read"], club_id=club_id)
        headers = {"Authorization": f"Bearer {key}"}
        client = app.test_client()
        _count_statements(rt.db.engine)
        client.get(f"/clubs/{club_id}", headers=headers)  # warm caches, templates
        pages = _pages(members)
        out = {"database": rt.db.engine.dialect.name, "members": members, "weeks": weeks,
               "activities": n_acts, "findings": n_finds, "seed_s": round(seeded_s, 1),
               "load_average_before": _load()}
        # Pages in turn, more than five times each: a statement PostgreSQL has run five times
        # may get a generic plan, which is what made the later pages slow before.
        for label, number in (("page_first", 1), ("page_middle", pages // 2 + 1),
                              ("page_last", pages)):
            out[label] = dict(timed(client, f"/clubs/{club_id}?page={number}", headers,
                                    args.repeat), page=number)
        out["api_members_paged"] = paged_api(client, club_id, headers)
        out["runner"] = runner_pages(rt, client, args.runner_years, args.repeat)
        out["breakdown_ms"] = breakdown(rt, club_id)
        out["load_average_after"] = _load()
        out["target_ms_per_page"] = 100
        if args.profile:
            import cProfile
            import pstats

            with cProfile.Profile() as prof:
                client.get(f"/clubs/{club_id}", headers=headers)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        rt.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
