from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from service.errors import ServiceUnavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up (no dependencies checked: a liveness probe must not flap with the DB)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    runtime = current_app.extensions["kneeguard"]
    checks = {}
    for name, probe in (("database", runtime.db.ping), ("queue", runtime.queue.ping)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # report which dependency is down, never crash the probe
            checks[name] = f"error: {type(exc).__name__}"
    if any(v != "ok" for v in checks.values()):
        raise ServiceUnavailable("A dependency is not ready.", details=checks)
    return jsonify(status="ok", checks=checks, queue="embedded" if runtime.queue.embedded else "redis")
