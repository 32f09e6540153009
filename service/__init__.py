"""kneeguard's always-on side: create_app(settings) builds the HTTP service."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from service.infra import runtime as runtime_mod
from service.infra.settings import Settings

SESSION_LIFETIME = timedelta(days=7)  # signed cookies: a copy lives this long at most (was 31)


def create_app(settings: Settings | None = None) -> Flask:
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

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    runtime = runtime_mod.build(settings)
    app.extensions["kneeguard"] = runtime
    _register(app)
    return app


def _register(app: Flask) -> None:
    from service.infra import metrics
    from service.web import auth, bodies, errors, headers
    from service.web.api import register_blueprints

    errors.register_error_handlers(app)
    # `?token=` is refused on every path, as the README says (a 400 that says what to do),
    # so no page redirects with the token copied into `next`
    app.before_request(auth.refuse_token_in_url)
    bodies.init_app(app)
    metrics.init_app(app)
    headers.init_app(app)
    register_blueprints(app)
