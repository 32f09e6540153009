"""Parallel test workers get their own PostgreSQL database and Redis index, derived from the URLs
CI (or a developer) sets, so two workers never empty each other's tables or queues."""

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from testkit import backends


def test_without_a_worker_the_urls_are_used_as_given():
    assert backends.worker_redis_url("redis://127.0.0.1:6379/0", None) == "redis://127.0.0.1:6379/0"
    assert backends.worker_database_name("test", None) == "test"


@pytest.mark.parametrize("url, worker, expected", [
    ("redis://127.0.0.1:6379/0", "gw0", "redis://127.0.0.1:6379/0"),
    ("redis://127.0.0.1:6379/0", "gw3", "redis://127.0.0.1:6379/3"),
    ("redis://127.0.0.1:6379", "gw1", "redis://127.0.0.1:6379/1"),
    ("redis://127.0.0.1:6379/8?socket_timeout=5", "gw2", "redis://127.0.0.1:6379/10?socket_timeout=5"),
])
def test_each_worker_has_its_own_redis_index(url, worker, expected):
    assert backends.worker_redis_url(url, worker) == expected


def test_more_workers_than_redis_databases_is_a_clear_error():
    with pytest.raises(ValueError, match="Redis database 16"):
        backends.worker_redis_url("redis://127.0.0.1:6379/8", "gw8")


def test_each_worker_has_its_own_database_name():
    assert backends.worker_database_name("test", "gw1") == "test_gw1"
    with pytest.raises(ValueError):
        backends.worker_database_name("test", "master")


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="creating a database needs PostgreSQL (DATABASE_URL)")
def test_the_worker_database_is_made_afresh(settings):
    """Any database this run uses is the base for a scratch worker `gw99`: created empty even
    when an older run left one with tables behind."""
    url = backends.fresh_worker_database(settings.database_url, "gw99")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE leftover (id int)"))
        engine.dispose()
        assert backends.fresh_worker_database(settings.database_url, "gw99") == url
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_tables WHERE tablename = 'leftover'")) == 0
    finally:
        engine.dispose()
        admin = create_engine(make_url(settings.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
