"""The club bench/dashboard.py times, seeded once and kept: 10,000 members × 52 weeks is ~2 M
activities, minutes to insert, so a database that already holds the same club (its name says the
shape and the seed's version) is reused; `--fresh` seeds again.

Bulk inserts in chunks of members (a whole club of rows in memory at once is gigabytes), then
VACUUM ANALYZE on PostgreSQL (the steady state: autovacuum keeps the visibility map current,
which index-only scans need) or ANALYZE on SQLite.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, text

from service.domain import clubs
from service.models import Activity, Athlete, Club, ClubMember, Finding, new_id

# Bump when what seed() writes changes: a kept database of another version is seeded again.
SEED_VERSION = 2
RULES = ("single_run_spike", "weekly_jump", "downhill_novel", "weekly_descent", "route_repetition")
SEVERITIES = ("info", "caution", "caution", "high")
CHUNK_MEMBERS = 200
RUNNER_EMAIL = "runner@bench.invalid"


def club_name(members: int, weeks: int) -> str:
    return f"Bench Harriers {members}x{weeks} v{SEED_VERSION}"


def prepare(rt, members: int, weeks: int, fresh: bool) -> dict:
    """{club_id, activities, findings, reused, seed_s}: the kept club if there is one of this
    shape, else a new one (every table emptied first)."""
    t0 = time.perf_counter()
    kept = None if fresh else _kept(rt, club_name(members, weeks))
    if kept:
        _drop_runner(rt)  # the runner's pages are timed on a runner made afresh each run
        return dict(kept, reused=True, seed_s=round(time.perf_counter() - t0, 1))
    rt.db.empty_all_tables()
    club_id, acts, finds = seed(rt, members, weeks, random.Random(7))
    return {"club_id": club_id, "activities": acts, "findings": finds, "reused": False,
            "seed_s": round(time.perf_counter() - t0, 1)}


def _kept(rt, name: str) -> dict | None:
    with rt.db.session() as s:
        club_id = s.scalar(select(Club.id).where(Club.name == name))
        if club_id is None:
            return None
        return {"club_id": club_id,
                "activities": s.scalar(select(func.count()).select_from(Activity)),
                "findings": s.scalar(select(func.count()).select_from(Finding))}


def _drop_runner(rt) -> None:
    with rt.db.session() as s:
        s.execute(delete(Athlete).where(Athlete.email == RUNNER_EMAIL))


def seed(rt, members: int, weeks: int, rng: random.Random) -> tuple[str, int, int]:
    now = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    with rt.db.session() as s:
        club_id = clubs.create_club(s, club_name(members, weeks)).id
    n_acts = n_finds = 0
    for first in range(0, members, CHUNK_MEMBERS):
        rows = _chunk(club_id, range(first, min(members, first + CHUNK_MEMBERS)), weeks, rng, now)
        with rt.db.engine.begin() as conn:
            # Members last: the findings' triggers then have no member row to mark (a new row
            # is due anyway), not 250,000 updates of 10,000 rows.
            for model, batch in zip((Athlete, Activity, Finding, ClubMember), rows, strict=True):
                if batch:
                    conn.execute(insert(model), batch)
        n_acts, n_finds = n_acts + len(rows[1]), n_finds + len(rows[2])
    _analyze(rt)
    return club_id, n_acts, n_finds


def _chunk(club_id: str, numbers: range, weeks: int, rng: random.Random,
           now: datetime) -> tuple[list, list, list, list]:
    athletes: list = []
    memberships: list = []
    acts: list = []
    finds: list = []
    for i in numbers:
        aid = new_id("ath")
        athletes.append({"id": aid, "email": f"m{i}@bench.invalid", "name": f"Member {i:05d}",
                         "display_name": f"Member {i:05d}", "preferences": {},
                         "thresholds": {}, "note_writeback": False, "created_at": now})
        memberships.append({"id": new_id("mem"), "club_id": club_id, "athlete_id": aid,
                            "role": "member", "consent_scope": list(clubs.CONSENT_SCOPES),
                            "consented_at": now, "created_at": now, "share_name": i % 2 == 0})
        for day in range(weeks * 7, 0, -1):
            if rng.random() > 4 / 7:
                continue
            source = "strava" if rng.random() < 0.15 else "garmin"
            acts.append(activity(aid, now - timedelta(days=day), rng, now, source,
                                 private=rng.random() < 0.05))
            if rng.random() < 0.12:
                finds.append(finding(aid, acts[-1], rng, now))
    return athletes, acts, finds, memberships


def _metrics(start: datetime, km: float, loss: float) -> dict:
    # Compact: the dashboard reads distance and elevation loss only (no route segment keys).
    return {"start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "sport": "running",
            "distance_m": km * 1000, "elevation": {"loss_m": loss, "gain_m": loss,
                                                    "altitude_source": "barometric"}}


def activity(aid: str, start: datetime, rng: random.Random, now: datetime,
             source: str = "garmin", private: bool = False) -> dict:
    km, loss = rng.uniform(4, 22), rng.uniform(0, 600)
    return {"id": new_id("act"), "athlete_id": aid, "source": source, "start_time": start,
            "sport": "running", "distance_m": km * 1000, "moving_time_s": km * 330,
            "indoor": False, "manual": False, "private": private, "status": "analyzed",
            "leg": 0, "metrics": _metrics(start, km, loss), "loss_m": loss, "created_at": now,
            "updated_at": now}


def finding(aid: str, act: dict, rng: random.Random, now: datetime) -> dict:
    return {"id": new_id("fnd"), "athlete_id": aid, "activity_id": act["id"],
            "subject": act["id"], "rule": rng.choice(RULES), "date": act["start_time"].date(),
            "severity": rng.choice(SEVERITIES), "value": 1.4, "threshold": 1.3,
            "message": "bench finding", "evidence": {}, "sources": [act["source"]],
            "created_at": now, "updated_at": now}


def settle(rt) -> None:
    """After every member's key was rewritten at once: what autovacuum does within a minute
    (its threshold is 20% of a table's rows changed), done now, so the page walks an index
    whose visibility map is current (no heap fetch per member) as in the steady state."""
    if rt.db.engine.dialect.name == "postgresql":
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE club_members"))


def _analyze(rt) -> None:
    if rt.db.engine.dialect.name == "postgresql":
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with rt.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
