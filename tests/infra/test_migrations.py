"""Alembic: one head, and `upgrade head` from an empty database equals the models."""

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.infra import migrate
from service.models import Base


def test_there_is_exactly_one_migration_head():
    assert len(migrate.heads()) == 1


@pytest.fixture
def empty_database_url(settings, tmp_path):
    """A brand-new database of the same kind as the suite's (SQLite file or PostgreSQL database)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"kg_mig_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_head_from_empty_matches_the_models(empty_database_url):
    migrate.upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert diff == []
    assert version == migrate.heads()[0]


def _state(url: str) -> tuple[str, list]:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    engine.dispose()
    return version, diff


def test_upgrade_is_idempotent(empty_database_url):
    migrate.upgrade(empty_database_url)
    first = _state(empty_database_url)
    migrate.upgrade(empty_database_url)  # `serve` and `db upgrade` run it at every start
    assert _state(empty_database_url) == first == (migrate.heads()[0], [])
