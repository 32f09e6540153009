"""Shared fixtures. Backends come from the environment, like the service itself:

- nothing set: SQLite in a temp folder and the embedded (fakeredis) queue;
- DATABASE_URL / REDIS_URL set (CI's second run): real PostgreSQL and Redis, cleaned per test.

Run in parallel (`pytest -n auto`, pytest-xdist), each worker has its own PostgreSQL database and
Redis index derived from those URLs (testkit/backends.py), migrated once per worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from service import create_app
from service.infra import migrate
from service.infra.settings import Settings
from testkit import backends

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under `pytest -n`; else None


def _database_url(tmp: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / 'test.db'}"
    url = Settings.from_env({"DATABASE_URL": url, "KNEEGUARD_SECRET_KEY": "x",
                             "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}).database_url
    return backends.fresh_worker_database(url, WORKER)


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    return backends.worker_redis_url(url, WORKER) if url else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"test data not found at {DATA}"
    return DATA


def _settings(tmp: Path, database_url: str, redis_url: str | None) -> Settings:
    migrate.upgrade(database_url)
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret",
        encryption_keys=(Fernet.generate_key().decode(),),
        email_outbox_dir=str(tmp / "outbox"),
        public_url="http://127.0.0.1:8000",
    )


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("kneeguard")
    return _settings(tmp, _database_url(tmp), _redis_url())


@pytest.fixture(scope="session")
def embedded_settings(tmp_path_factory) -> Settings:
    """SQLite and the in-process queue whatever the environment says: for tests in a network
    namespace of their own, which cannot reach PostgreSQL or Redis on the host's loopback."""
    tmp = tmp_path_factory.mktemp("embedded")
    return _settings(tmp, f"sqlite:///{tmp / 'test.db'}", None)


@pytest.fixture
def settings(base_settings) -> Settings:
    return base_settings


@pytest.fixture
def app(settings):
    application = create_app(settings)
    runtime = application.extensions["kneeguard"]
    _clean(runtime)
    yield application
    runtime.close()


@pytest.fixture
def runtime(app):
    return app.extensions["kneeguard"]


@pytest.fixture
def client(app):
    return app.test_client()


def _clean(runtime) -> None:
    """Empty every table, the queue and the email outbox, so each test starts from nothing."""
    runtime.db.empty_all_tables()
    runtime.queue.redis.flushdb()
    for mail in Path(runtime.settings.email_outbox_dir).glob("*.eml"):
        mail.unlink()


# ---- CI's second run: only what the backends change ----------------------------------------------

def pytest_addoption(parser):
    parser.addoption(
        "--backend-tests-only", action="store_true",
        help="run only the tests that use the database or the queue (they reach them through the "
             "`base_settings` fixture); CI's PostgreSQL + Redis run, since the others run the same "
             "on any backend and already ran on the embedded default")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("backend_tests_only"):
        return
    uses = [("base_settings" in getattr(item, "fixturenames", ()), item) for item in items]
    config.hook.pytest_deselected(items=[item for used, item in uses if not used])
    items[:] = [item for used, item in uses if used]
