"""A pooled PostgreSQL connection that died while idle (server restart, idle timeout) is replaced
at checkout, without a ping round trip on every request (the receiver's hot path, issue 28)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from service.infra import db as db_mod


def test_a_connection_killed_while_idle_is_replaced_at_checkout(runtime, monkeypatch):
    engine = runtime.db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: the server ends the connection")
    monkeypatch.setattr(db_mod, "IDLE_PING_S", 0.05)
    with engine.connect() as killer:
        with engine.connect() as conn:
            victim = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        # the server ends the pooled connection while it is idle
        killer.execute(text("SELECT pg_terminate_backend(:p)"), {"p": victim})
    time.sleep(0.1)
    pids = set()
    for _ in range(3):
        with engine.connect() as conn:
            pids.add(conn.execute(text("SELECT pg_backend_pid()")).scalar())
    assert victim not in pids
