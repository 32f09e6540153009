"""HTTP surface: one blueprint per resource under /v1, provider receivers under /webhooks."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from service.integrations.garmin import web as garmin
    from service.integrations.strava import web as strava_api
    from service.web.api import activities, endpoints, health, preferences

    app.register_blueprint(health.bp)
    app.register_blueprint(activities.bp)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(preferences.bp)
    app.register_blueprint(garmin.bp)
    app.register_blueprint(strava_api.bp)
    from service.web import openapi, ratelimit
    from service.web import pages as web
    from service.web.api import account, clubs, integrators, keys

    app.register_blueprint(ratelimit.bp)
    app.register_blueprint(clubs.bp)
    app.register_blueprint(keys.bp)
    app.register_blueprint(integrators.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(web.bp)
