"""Run Alembic programmatically, so `kneeguard db upgrade` and `serve` work from an installed package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import migrations

SCRIPT_LOCATION = str(Path(migrations.__file__).resolve().parent)
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(slug)s"


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    if database_url:
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite"):
        from service.infra.db import make_private

        make_private(database_url)  # before Alembic's engine creates the file with the umask
    command.upgrade(alembic_config(database_url), revision)


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())
