import json

import pytest
from cryptography.fernet import Fernet

from service.infra.settings import LOCAL_SECRETS_FILE, Settings, SettingsError

KEY = Fernet.generate_key().decode()
PROD = {"DATABASE_URL": "postgresql://u@127.0.0.1/db", "KNEEGUARD_SECRET_KEY": "s",
        "KNEEGUARD_ENCRYPTION_KEYS": KEY}


def test_no_configuration_gives_the_embedded_default_in_the_data_directory(tmp_path,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({"HOME": str(tmp_path)})
    data = tmp_path / ".local" / "share" / "kneeguard"
    assert s.data_dir == str(data)
    assert s.database_url == f"sqlite:///{data / 'kneeguard.db'}"
    assert s.email_outbox_dir == str(data / "outbox")
    assert s.embedded_queue and s.public_url == "http://127.0.0.1:8000"
    assert not s.strava_enabled and not s.garmin_enabled
    stored = json.loads((data / LOCAL_SECRETS_FILE).read_text())
    assert s.secret_key == stored["secret_key"]
    assert s.encryption_keys == (stored["encryption_key"],)


def test_local_secrets_are_generated_once_and_reused(tmp_path):
    env = {"KNEEGUARD_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).secret_key == Settings.from_env(env).secret_key


def test_every_working_folder_finds_the_same_data(tmp_path, monkeypatch):
    env = {"KNEEGUARD_DATA_DIR": str(tmp_path / "data")}
    monkeypatch.chdir(tmp_path)
    here = Settings.from_env(env)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    there = Settings.from_env(env)
    assert here.database_url == there.database_url and here.secret_key == there.secret_key


def test_postgres_urls_use_psycopg3():
    assert Settings.from_env(PROD).database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    "name,value",
    [
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://x"),
        ("PUBLIC_URL", "ftp://x"),
        ("WEBHOOK_ALLOW_LOOPBACK", "maybe"),
        ("KNEEGUARD_ENCRYPTION_KEYS", "not-a-key"),
        ("KNEEGUARD_MAX_UPLOAD_BYTES", "lots"),
        ("KNEEGUARD_THRESHOLDS", "[1,2]"),
        ("LOG_LEVEL", "LOUD"),
        ("SMTP_URL", "https://mail"),
        ("KNEEGUARD_RATE_LIMITS", '{"key": 0}'),
        ("KNEEGUARD_RATE_LIMITS", '{"bogus": 5}'),
        ("GARMIN_BACKFILL_DAYS", "0"),
    ],
)
def test_a_bad_value_is_refused_with_the_variable_named(name, value):
    env = dict(PROD, **{name: value})
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_production_database_requires_explicit_secrets():
    with pytest.raises(SettingsError, match="KNEEGUARD_SECRET_KEY"):
        Settings.from_env({"DATABASE_URL": "postgresql://u@127.0.0.1/db"})
    env = {"DATABASE_URL": "postgresql://u@h/db", "KNEEGUARD_SECRET_KEY": "s"}
    with pytest.raises(SettingsError, match="KNEEGUARD_ENCRYPTION_KEYS"):
        Settings.from_env(env)


def test_booleans_and_key_lists_are_parsed():
    other = Fernet.generate_key().decode()
    s = Settings.from_env(dict(PROD, WEBHOOK_ALLOW_LOOPBACK="TRUE",
                               KNEEGUARD_ENCRYPTION_KEYS=f"{KEY}, {other}"))
    assert s.webhook_allow_loopback is True
    assert s.encryption_keys == (KEY, other)


def test_web_process_recycling_is_a_setting_and_zero_turns_it_off(tmp_path):
    """bench/soak.py measures web memory without recycling (KNEEGUARD_WEB_MAX_REQUESTS=0), so
    the figure is the processes' own and not gunicorn's restarts."""
    from service.infra.server import gunicorn_options

    env = {"KNEEGUARD_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).web_max_requests == 1000
    assert Settings.from_env({**env, "KNEEGUARD_WEB_MAX_REQUESTS": "0"}).web_max_requests == 0
    assert gunicorn_options("127.0.0.1", 8000, 2, "INFO")["max_requests"] == 1000
    off = gunicorn_options("127.0.0.1", 8000, 2, "INFO", max_requests=0)
    assert off["max_requests"] == 0 and off["max_requests_jitter"] == 0
