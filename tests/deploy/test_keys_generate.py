"""`kneeguard keys generate`: .env lines an operator appends, which the settings then accept."""

from __future__ import annotations

import json

from click.testing import CliRunner
from cryptography.fernet import Fernet, MultiFernet

from service.cli import main
from service.infra.settings import Settings

PROD = {"DATABASE_URL": "postgresql://kneeguard:kneeguard@db.invalid:5432/kneeguard"}


def env_lines(text: str) -> dict:
    return dict(line.split("=", 1) for line in text.splitlines() if line.strip())


def run(*args: str, env: dict | None = None) -> str:
    result = CliRunner().invoke(main, ["keys", "generate", *args], env=env or {})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_lines_are_exactly_what_production_settings_require(tmp_path):
    lines = env_lines(run(env={"KNEEGUARD_DATA_DIR": str(tmp_path / "none")}))
    assert set(lines) == {"KNEEGUARD_SECRET_KEY", "KNEEGUARD_ENCRYPTION_KEYS"}
    settings = Settings.from_env({**PROD, **lines, "KNEEGUARD_DATA_DIR": str(tmp_path)})
    assert len(settings.secret_key) >= 43  # at least 256 bits of randomness, URL-safe
    box = MultiFernet([Fernet(k) for k in settings.encryption_keys])
    assert box.decrypt(box.encrypt(b"token")) == b"token"
    assert not (tmp_path / "none").exists()  # nothing stored, no database made


def test_every_run_is_fresh():
    first, second = env_lines(run()), env_lines(run())
    assert first["KNEEGUARD_SECRET_KEY"] != second["KNEEGUARD_SECRET_KEY"]
    assert first["KNEEGUARD_ENCRYPTION_KEYS"] != second["KNEEGUARD_ENCRYPTION_KEYS"]


def test_keep_current_puts_the_new_key_first_for_a_rotation():
    old = Fernet.generate_key().decode()
    doc = json.loads(run("--keep-current", "--json", env={"KNEEGUARD_ENCRYPTION_KEYS": old}))
    new, kept = doc["encryption_keys"]
    assert kept == old and new != old
    # What the old key encrypted still opens with the new list; new secrets use the new key.
    box = MultiFernet([Fernet(k) for k in doc["encryption_keys"]])
    assert box.decrypt(Fernet(old).encrypt(b"s")) == b"s"
    assert Fernet(new).decrypt(box.encrypt(b"t")) == b"t"
