"""Engine and sessions. Built by create_app / the worker from Settings; nothing connects at import."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from service.infra import finite


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessions, "before_flush", finite.guard)  # no NaN/inf is ever stored

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error, always closes."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def empty_all_tables(self) -> None:
        """Delete every row (tests and benchmarks start from nothing; never called by the service).
        DELETE, children first, on PostgreSQL too: TRUNCATE makes and syncs a new file per table,
        ~0.4 s even when the tables hold the few rows a test leaves (a DELETE takes ~7 ms)."""
        from service.models import Base

        with self.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())

    def dispose(self) -> None:
        self.engine.dispose()

    def checkpoint(self) -> None:
        """SQLite: fold the WAL into the database file and truncate it to zero bytes, so deleted
        rows (with secure_delete, zeroed in the main file) leave no copy in the -wal file.
        Best effort while another connection reads; a no-op on PostgreSQL."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        make_private(url)
        # The embedded default: web threads and the in-process worker share one file.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # prepare_threshold=None: psycopg would otherwise prepare a statement after its 5th run, and
    # PostgreSQL then switches to a generic plan that cannot see the values. For "these 50
    # members, the last 12 weeks" that plan walks every member's weeks by date (55 ms, not 2 ms):
    # the dashboard's later pages were slow only because they ran after page 1.
    engine = create_engine(url, pool_recycle=1800, pool_size=5, max_overflow=10,
                           connect_args={"prepare_threshold": None})
    # Survive a PostgreSQL restart without a round trip per checkout: pool_pre_ping cost every
    # request one (a quarter of the Strava receiver's, issue 28). A connection back in use within
    # IDLE_PING_S was working a moment ago; one idle longer is pinged and replaced if dead.
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


IDLE_PING_S = 2.0


def _checked_in(_dbapi_conn, record) -> None:
    if record is not None:
        record.info["kg_idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
    since = record.info.get("kg_idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_S:
        return  # a fresh connection, or one in use a moment ago
    try:
        alive = record.pool._dialect.do_ping(dbapi_conn)
    except Exception as exc:
        raise DisconnectionError("connection lost while idle") from exc
    if not alive:
        raise DisconnectionError("connection lost while idle")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    # Deleted rows (emails, GPS) are overwritten with zeros, not left in free pages.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def make_private(url: str) -> None:
    """The SQLite file (emails, raw GPS) readable by its owner only. Created 0600 before SQLite
    opens it: SQLite gives the -wal and -shm files the database file's mode. Files from older
    versions are tightened too."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            extra.chmod(0o600)


def changed(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed. `Session.execute` is typed as returning a `Result`; for
    those statements it is a `CursorResult`, which has the count."""
    assert isinstance(result, CursorResult)
    return result.rowcount
