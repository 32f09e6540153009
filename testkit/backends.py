"""One PostgreSQL database and one Redis database per test process, derived from DATABASE_URL and
REDIS_URL, so the suite can run in parallel (pytest-xdist workers gw0, gw1, ...) without two
processes emptying each other's tables or queues.

    worker None  → the URLs as given (a plain `pytest` run);
    worker "gw1" → database `<name>_gw1` on the same server, Redis index `<index> + 1`.

CI sets `.../test` and `redis://.../0`; a developer sets their own database and index, and the
workers' copies follow from it.
"""

from __future__ import annotations

import re

from sqlalchemy import create_engine, make_url, text

REDIS_DATABASES = 16  # Redis's default `databases`


def worker_number(worker: str | None) -> int | None:
    """`gw3` → 3; None (no xdist) → None."""
    if not worker:
        return None
    match = re.fullmatch(r"gw(\d+)", worker)
    if match is None:
        raise ValueError(f"unexpected xdist worker id {worker!r}")
    return int(match.group(1))


def worker_database_name(base: str, worker: str | None) -> str:
    return f"{base}_{worker}" if worker_number(worker) is not None else base


def worker_redis_url(url: str, worker: str | None) -> str:
    """The worker's Redis database: the URL's index plus the worker number (`/0` → `/2` for gw2)."""
    number = worker_number(worker)
    if number is None:
        return url
    head, _, tail = url.partition("?")
    match = re.fullmatch(r"(redis(?:s)?://[^/]*)(?:/(\d*))?", head)
    if match is None:
        raise ValueError(f"cannot give each test worker its own Redis database in {url!r}")
    index = int(match.group(2) or 0) + number
    if index >= REDIS_DATABASES:
        raise ValueError(f"worker {worker} would need Redis database {index}; Redis has "
                         f"{REDIS_DATABASES}: start from a lower index in REDIS_URL or run fewer workers")
    return f"{match.group(1)}/{index}" + (f"?{tail}" if tail else "")


def fresh_worker_database(url: str, worker: str | None) -> str:
    """PostgreSQL: (re)create the worker's own database, empty, and return its URL. Dropped first
    so a database left by an older run (another schema revision) never leaks into this one.
    Without a worker (a plain run) the URL is returned as is and the database is left alone."""
    parsed = make_url(url)
    name = worker_database_name(parsed.database or "", worker)
    if name == parsed.database:
        return url
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)
