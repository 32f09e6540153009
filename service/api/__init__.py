"""HTTP surface: one blueprint per resource under /v1, provider receivers under /webhooks."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from service.api import activities, endpoints, garmin, health, preferences
    from service.api import strava as strava_api

    app.register_blueprint(health.bp)
    app.register_blueprint(activities.bp)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(preferences.bp)
    app.register_blueprint(garmin.bp)
    app.register_blueprint(strava_api.bp)
    from service import openapi, ratelimit, web
    from service.api import account, clubs, keys

    app.register_blueprint(ratelimit.bp)
    app.register_blueprint(clubs.bp)
    app.register_blueprint(keys.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(web.bp)
