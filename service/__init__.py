"""kneeguard's always-on side: create_app(settings) builds the HTTP service.

Importing this package imports nothing else: every `service.*` module, each CLI command and the
workers' health check (every 30 s per container) included, passes through here, and Flask, the
database layer and the queue cost ~0.7 s of CPU that a command not serving HTTP never needs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint, Flask

    from service.domain.providers import Providers
    from service.infra.settings import Settings

SESSION_LIFETIME = timedelta(days=7)  # signed cookies: a copy lives this long at most (was 31)


def create_app(settings: Settings | None = None) -> Flask:
    from flask import Flask

    from service.infra import runtime as runtime_mod
    from service.infra.settings import Settings

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        RATE_LIMITS=dict(settings.rate_limits),
    )
    if settings.trust_proxy:
        # Behind one reverse proxy: take the client address and scheme from X-Forwarded-*.
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to wrap the WSGI app; Flask types wsgi_app as a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    runtime = runtime_mod.build(settings)
    app.extensions["kneeguard"] = runtime
    app.extensions["kneeguard.providers"] = _providers(settings)
    _register(app)
    return app


def preload() -> None:
    """Import, without building anything, what create_app imports lazily: the gunicorn master
    calls this before it forks, so a web process that gunicorn recycles (max_requests) starts
    with its modules already loaded instead of spending ~0.7 s of CPU re-importing them while
    the other process takes the whole load (the receiver's tail, issue 28)."""
    import psycopg  # noqa: F401  (the driver and libpq: the biggest import of a web process)
    import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401

    _blueprints()
    from service.infra import metrics  # noqa: F401
    from service.integrations.garmin import connection, status  # noqa: F401
    from service.integrations.strava import connection as strava  # noqa: F401
    from service.web import bodies, error_handlers, headers  # noqa: F401


def _register(app: Flask) -> None:
    from service.infra import metrics
    from service.web import auth, bodies, error_handlers, headers

    error_handlers.register_error_handlers(app)
    # `?token=` is refused on every path, as the README says (a 400 that says what to do),
    # so no page redirects with the token copied into `next`
    app.before_request(auth.refuse_token_in_url)
    bodies.init_app(app)
    metrics.init_app(app)
    headers.init_app(app)
    for bp in _blueprints():
        app.register_blueprint(bp)


def _providers(settings: Settings) -> Providers:
    """Each provider's hooks for the web side, which must not import provider packages
    (domain/providers.py); no `disconnect` for a provider switched off here."""
    from service.domain.providers import ProviderHooks
    from service.integrations.garmin import connection as garmin
    from service.integrations.garmin import status as garmin_status
    from service.integrations.strava import connection as strava

    return {"strava": ProviderHooks(strava.disconnect if settings.strava_enabled else None),
            "garmin": ProviderHooks(garmin.disconnect if settings.garmin_enabled else None,
                                    garmin_status.view)}


def _blueprints() -> list[Blueprint]:
    """Every blueprint, in registration order (the rate limiter's hooks after the receivers').
    Listed here, at the top, so neither `web` nor an integration imports the other's views."""
    from service.integrations.garmin import web as garmin
    from service.integrations.strava import web as strava
    from service.web import openapi, pages, ratelimit
    from service.web.api import (
        account,
        activities,
        clubs,
        endpoints,
        health,
        integrators,
        keys,
        load,
        preferences,
    )

    return [health.bp, activities.bp, endpoints.bp, preferences.bp, garmin.bp, strava.bp,
            ratelimit.bp, clubs.bp, keys.bp, integrators.bp, account.bp, load.bp, openapi.bp,
            pages.blueprint()]
