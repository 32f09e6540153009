"""Server-rendered pages (see `site.py`). `blueprint()` imports the page modules, whose views
attach to the one blueprint, and hands it to `create_app`."""

from __future__ import annotations

from flask import Blueprint


def blueprint() -> Blueprint:
    from service.web.pages import club_admin, integrators, me, site, views  # noqa: F401  (attach to site.bp)

    return site.bp
