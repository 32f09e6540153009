"""One typed Settings, read from the environment once and validated at start.

A bad value stops the process with a message that names the variable. On the embedded default (no
DATABASE_URL) the secret key and encryption key are generated once and kept in a local file, so a
newcomer needs no configuration at all; in production they must be given.

One data directory (KNEEGUARD_DATA_DIR, default `$XDG_DATA_HOME/kneeguard`, i.e.
`~/.local/share/kneeguard`) holds the embedded default's database, secrets file and email outbox,
so `serve` and every CLI command find the same data from any working folder.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

DEFAULT_DATABASE_URL = "sqlite:///kneeguard.db"  # relative: only for Settings() built in code
DATABASE_FILE = "kneeguard.db"
LOCAL_SECRETS_FILE = "kneeguard-secrets.json"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    encryption_keys: tuple[str, ...] = ()
    strava_client_id: str | None = None
    strava_client_secret: str | None = None
    strava_verify_token: str | None = None
    # The push subscription we created (`kneeguard strava subscribe` prints it); events naming
    # another one are dropped. Unset: the id `subscribe`/`list` stored in Redis, if any.
    strava_subscription_id: int | None = None
    strava_api_url: str = "https://www.strava.com/api/v3"
    strava_oauth_url: str = "https://www.strava.com/oauth"
    garmin_client_id: str | None = None
    garmin_client_secret: str | None = None
    garmin_api_url: str = "https://apis.garmin.com"
    garmin_auth_url: str = "https://connect.garmin.com/oauth2Confirm"
    garmin_token_url: str = "https://diauth.garmin.com/di-oauth2-service/integrations/oauth/token"
    garmin_backfill_days: int = 90
    smtp_url: str | None = None
    mail_from: str = "kneeguard <kneeguard@localhost>"
    email_outbox_dir: str = "outbox"
    webhook_allow_loopback: bool = False
    # Private ranges webhooks may reach (the operator's own receivers); default none. Parsed
    # ipaddress networks; loopback is never among them (WEBHOOK_ALLOW_LOOPBACK is its own switch).
    webhook_allow_networks: tuple = ()
    webhook_ca_bundle: str | None = None  # PEM CAs trusted for webhook TLS instead of certifi's
    max_upload_bytes: int = 64 * 1024 * 1024
    max_webhook_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    sweep_interval_s: int = 60
    # How long a job may look dead (no heartbeat, in no queue) before its row is re-enqueued.
    job_lease_s: int = 60
    # Requests after which gunicorn recycles a web process (± 10%); 0: never (bench/soak.py).
    web_max_requests: int = 1000
    # Seconds a received/pending row may wait before the sweeper assumes its job was lost.
    stale_after_s: int = 120
    thresholds: Mapping[str, object] = field(default_factory=dict)
    rate_limits: Mapping[str, object] = field(default_factory=dict)
    # Emails and Strava notes only for findings this recent (imports of old history stay quiet).
    notify_max_age_days: int = 7
    trust_proxy: bool = False
    # Bearer token /metrics requires when set (unset: /metrics is public, as before).
    metrics_token: str | None = None
    data_dir: str = "."
    # KNEEGUARD_DEMO=1: the demo's own world (`as_demo`); `serve` then loads the demo first.
    demo: bool = False

    @property
    def embedded_queue(self) -> bool:
        return self.redis_url is None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def strava_enabled(self) -> bool:
        return bool(self.strava_client_id and self.strava_client_secret)

    @property
    def garmin_enabled(self) -> bool:
        return bool(self.garmin_client_id and self.garmin_client_secret)

    def with_overrides(self, **changes: Any) -> Settings:  # dataclasses.replace checks them
        return replace(self, **changes)

    def as_demo(self) -> Settings:
        """The demo's own world: `<data dir>/demo` with its own SQLite database and outbox, and
        the in-process queue. Never mixed with real data: DATABASE_URL and REDIS_URL are ignored."""
        if self.demo:
            return self
        folder = Path(self.data_dir) / "demo"
        return replace(self, demo=True, data_dir=str(folder), redis_url=None,
                       database_url=f"sqlite:///{folder / 'demo.db'}",
                       email_outbox_dir=str(folder / "outbox"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        r = _Reader(env)
        data_dir = str(Path(r.text("KNEEGUARD_DATA_DIR", None) or default_data_dir(env))
                       .expanduser().absolute())
        database_url = r.url("DATABASE_URL", f"sqlite:///{Path(data_dir) / DATABASE_FILE}",
                             schemes=("sqlite", "postgresql"))
        settings = cls(
            database_url=_normalise_db_url(database_url),
            redis_url=r.url("REDIS_URL", None, schemes=("redis", "rediss", "unix")),
            public_url=r.url("PUBLIC_URL", cls.public_url, schemes=("http", "https")).rstrip("/"),
            secret_key=r.text("KNEEGUARD_SECRET_KEY", ""),
            encryption_keys=r.fernet_keys("KNEEGUARD_ENCRYPTION_KEYS"),
            strava_client_id=r.text("STRAVA_CLIENT_ID", None),
            strava_client_secret=r.text("STRAVA_CLIENT_SECRET", None),
            strava_verify_token=r.text("STRAVA_VERIFY_TOKEN", None),
            strava_subscription_id=_optional_int(r, "STRAVA_SUBSCRIPTION_ID"),
            strava_api_url=r.url("STRAVA_API_URL", cls.strava_api_url).rstrip("/"),
            strava_oauth_url=r.url("STRAVA_OAUTH_URL", cls.strava_oauth_url).rstrip("/"),
            garmin_client_id=r.text("GARMIN_CLIENT_ID", None),
            garmin_client_secret=r.text("GARMIN_CLIENT_SECRET", None),
            garmin_api_url=r.url("GARMIN_API_URL", cls.garmin_api_url).rstrip("/"),
            garmin_auth_url=r.url("GARMIN_AUTH_URL", cls.garmin_auth_url),
            garmin_token_url=r.url("GARMIN_TOKEN_URL", cls.garmin_token_url),
            garmin_backfill_days=r.number("GARMIN_BACKFILL_DAYS", 90, minimum=1),
            smtp_url=r.url("SMTP_URL", None, schemes=("smtp", "smtps")),
            mail_from=r.text("MAIL_FROM", cls.mail_from),
            email_outbox_dir=r.text("EMAIL_OUTBOX_DIR", str(Path(data_dir) / "outbox")),
            webhook_allow_loopback=r.flag("WEBHOOK_ALLOW_LOOPBACK", False),
            webhook_allow_networks=r.networks("WEBHOOK_ALLOW_NETWORKS"),
            webhook_ca_bundle=r.file("WEBHOOK_CA_BUNDLE"),
            max_upload_bytes=r.number("KNEEGUARD_MAX_UPLOAD_BYTES", cls.max_upload_bytes, minimum=1024),
            log_level=r.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_json=r.flag("LOG_JSON", True),
            sweep_interval_s=r.number("KNEEGUARD_SWEEP_INTERVAL", 60, minimum=1),
            job_lease_s=r.number("KNEEGUARD_JOB_LEASE", 60, minimum=1),
            web_max_requests=r.number("KNEEGUARD_WEB_MAX_REQUESTS", 1000, minimum=0),
            thresholds=r.json_object("KNEEGUARD_THRESHOLDS"),
            rate_limits=r.rate_limits("KNEEGUARD_RATE_LIMITS"),
            notify_max_age_days=r.number("KNEEGUARD_NOTIFY_MAX_AGE_DAYS", 7, minimum=0),
            trust_proxy=r.flag("KNEEGUARD_TRUST_PROXY", False),
            metrics_token=r.text("KNEEGUARD_METRICS_TOKEN", None),
            data_dir=data_dir,
        )
        demo = r.flag("KNEEGUARD_DEMO", False)
        r.raise_all()  # every bad variable in one message, not one per start
        if demo:
            settings = settings.as_demo()
        if not settings.is_sqlite:
            return settings.require_secrets()
        if settings.demo or r.text("DATABASE_URL", None) is None:  # the database is in the data dir
            Path(settings.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        return settings.with_local_secrets(settings.data_dir)

    def require_secrets(self) -> Settings:
        if not self.secret_key:
            raise SettingsError("KNEEGUARD_SECRET_KEY is required when DATABASE_URL is not SQLite")
        if not self.encryption_keys:
            raise SettingsError("KNEEGUARD_ENCRYPTION_KEYS is required when DATABASE_URL is not SQLite")
        return self

    def with_local_secrets(self, folder: str | os.PathLike[str] = ".") -> Settings:
        """Fill missing secrets from (or into) a local file: the embedded default needs no setup."""
        if self.secret_key and self.encryption_keys:
            return self
        path = Path(folder) / LOCAL_SECRETS_FILE
        stored = json.loads(path.read_text()) if path.exists() else {}
        if stored and path.stat().st_mode & 0o077:
            path.chmod(0o600)  # left readable by others by an older version: tighten it
        if not stored:
            stored = {"secret_key": secrets.token_urlsafe(32),
                      "encryption_key": Fernet.generate_key().decode()}
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_private(path, json.dumps(stored))
        return replace(
            self,
            secret_key=self.secret_key or stored["secret_key"],
            encryption_keys=self.encryption_keys or (stored["encryption_key"],),
        )


def _write_private(path: Path, text: str) -> None:
    """Created 0600 from the first byte (write-then-chmod leaves a window where others can read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed


def _optional_int(r: _Reader, name: str) -> int | None:
    return None if r.text(name, None) is None else r.number(name, 0, minimum=1)


def default_data_dir(env: Mapping[str, str]) -> Path:
    """XDG's data home (https://specifications.freedesktop.org/basedir-spec/latest/)."""
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "kneeguard"


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite:/// URL (None for PostgreSQL or in-memory)."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.split(":///", 1)[1])


def _normalise_db_url(url: str) -> str:
    # SQLAlchemy defaults postgresql:// to psycopg2; we ship psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


_EMPTY: dict[str, Any] = {"fernet_keys": (), "networks": (), "rate_limits": {}, "json_object": {},
                          "file": None}


def _collecting(method):
    """A bad value is recorded (and its default used) so that every error is reported at once."""
    @functools.wraps(method)
    def read(self, name: str, *args, **kwargs):
        try:
            return method(self, name, *args, **kwargs)
        except SettingsError as exc:
            if str(exc) not in self.errors:
                self.errors.append(str(exc))
            return args[0] if args else kwargs.get("default", _EMPTY.get(method.__name__))
    return read


@dataclass
class _Reader:
    env: Mapping[str, str]
    errors: list[str] = field(default_factory=list)

    def raise_all(self) -> None:
        if len(self.errors) == 1:
            raise SettingsError(self.errors[0])
        if self.errors:
            raise SettingsError(f"{len(self.errors)} variables are wrong:\n" +
                                "\n".join(f"  - {e}" for e in self.errors))

    # text/number/flag, not str/int/bool: a method named like a builtin hides it in the
    # annotations of the methods after it.
    @overload
    def text(self, name: str, default: str) -> str: ...

    @overload
    def text(self, name: str, default: None) -> str | None: ...

    def text(self, name: str, default: str | None) -> str | None:
        value = self.env.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def file(self, name: str) -> str | None:
        value = self.text(name, None)
        if value is not None and not os.path.isfile(value):
            raise SettingsError(f"{name} must name a readable file, got {value!r}")
        return value

    def url(self, name: str, default: str | None, schemes: tuple[str, ...] = ("http", "https")):
        value = self.text(name, default)
        if value is None:
            return None
        scheme = urlsplit(value).scheme.split("+")[0]
        if scheme not in schemes:
            raise SettingsError(f"{name} must be a URL with scheme {'/'.join(schemes)}, got {value!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.env.get(name)
        if value is None:
            return default
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false, got {value!r}")

    def number(self, name: str, default: int, minimum: int = 0) -> int:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {value!r}") from None
        if number < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {number}")
        return number

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = (self.text(name, default) or default).upper()
        if value not in options:
            raise SettingsError(f"{name} must be one of {', '.join(options)}, got {value!r}")
        return value

    def fernet_keys(self, name: str) -> tuple[str, ...]:
        value = self.text(name, None)
        if value is None:
            return ()
        keys = tuple(k.strip() for k in value.split(",") if k.strip())
        for key in keys:
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise SettingsError(f"{name} holds a value that is not a Fernet key") from None
        return keys

    def networks(self, name: str) -> tuple:
        value = self.text(name, None)
        if value is None:
            return ()
        from service.infra.netguard import parse_networks  # the guard owns which ranges may open

        try:
            return parse_networks(value)
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None

    def rate_limits(self, name: str) -> dict:
        limits = self.json_object(name)
        allowed = {"key", "address", "login", "window_s",
                   "email_account", "email_address", "email_window_s"}  # web/mail_limits.py
        for key, value in limits.items():
            if key not in allowed or not isinstance(value, int) or value < 1:
                raise SettingsError(f"{name}: {key!r} must be one of {sorted(allowed)} with a "
                                    "whole number ≥ 1")
        return limits

    def json_object(self, name: str) -> dict:
        value = self.text(name, None)
        if value is None:
            return {}
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{name} must be a JSON object: {exc}") from None
        if not isinstance(parsed, dict):
            raise SettingsError(f"{name} must be a JSON object")
        return parsed


for _name in ("text", "file", "url", "flag", "number", "choice", "fernet_keys", "networks",
              "rate_limits", "json_object"):
    setattr(_Reader, _name, _collecting(getattr(_Reader, _name)))
