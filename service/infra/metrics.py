"""Prometheus metrics. Metric objects are plain module-level values (no I/O at import)."""

from __future__ import annotations

import hmac
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from service.errors import Unauthorized

HTTP_REQUESTS = Counter(
    "kneeguard_http_requests_total", "HTTP requests", ["method", "endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "kneeguard_http_request_duration_seconds", "HTTP request latency", ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("kneeguard_jobs_total", "Jobs run", ["job", "outcome"])
QUEUE_DEPTH = Gauge("kneeguard_queue_depth", "Jobs waiting in the queue", ["queue"])
# Labels come from fixed sets only: a client choosing the method ("FOO1", "FOO2", …) or the path
# must not be able to mint new series (each costs memory here and in Prometheus for good).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def route_label() -> str:
    """The matched URL rule's endpoint name (a fixed set), never the raw path."""
    return request.endpoint if request.url_rule is not None and request.endpoint else "unmatched"


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g._started = time.perf_counter()

    @app.after_request
    def _record(response):
        endpoint = route_label()
        HTTP_REQUESTS.labels(method_label(request.method), endpoint, response.status_code).inc()
        if hasattr(g, "_started"):
            HTTP_LATENCY.labels(endpoint).observe(time.perf_counter() - g._started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        runtime = app.extensions["kneeguard"]
        _require_token(runtime.settings.metrics_token)
        try:
            for name, q in runtime.queue.queues.items():
                QUEUE_DEPTH.labels(name).set(q.count)
        except Exception:  # a down Redis must not break the scrape; /readyz reports it
            pass
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _require_token(expected: str | None) -> None:
    """With KNEEGUARD_METRICS_TOKEN set, only `Authorization: Bearer <that token>` may scrape."""
    if not expected:
        return
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                              expected.encode()):
        raise Unauthorized("A bearer token is required for /metrics.", code="metrics_token")
