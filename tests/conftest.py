"""Shared fixtures. Backends come from the environment, like the service itself:

- nothing set: SQLite in a temp folder and the embedded (fakeredis) queue;
- DATABASE_URL / REDIS_URL set (CI's second run): real PostgreSQL and Redis, cleaned per test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from service import create_app
from service.infra import migrate
from service.infra.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def _database_url(tmp: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    return Settings.from_env({"DATABASE_URL": url, "KNEEGUARD_SECRET_KEY": "x",
                              "KNEEGUARD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
                             ).database_url if url else f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"test data not found at {DATA}"
    return DATA


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("kneeguard")
    url = _database_url(tmp)
    migrate.upgrade(url)
    return Settings(
        database_url=url,
        redis_url=os.environ.get("REDIS_URL") or None,
        secret_key="test-secret",
        encryption_keys=(Fernet.generate_key().decode(),),
        email_outbox_dir=str(tmp / "outbox"),
        public_url="http://127.0.0.1:8000",
    )


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
