"""Prometheus metrics. Metric objects are plain module-level values (no I/O at import)."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "kneeguard_http_requests_total", "HTTP requests", ["method", "endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "kneeguard_http_request_duration_seconds", "HTTP request latency", ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("kneeguard_jobs_total", "Jobs run", ["job", "outcome"])
QUEUE_DEPTH = Gauge("kneeguard_queue_depth", "Jobs waiting in the queue", ["queue"])


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g._started = time.perf_counter()

    @app.after_request
    def _record(response):
        endpoint = request.endpoint or "unmatched"
        HTTP_REQUESTS.labels(request.method, endpoint, response.status_code).inc()
        if hasattr(g, "_started"):
            HTTP_LATENCY.labels(endpoint).observe(time.perf_counter() - g._started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        runtime = app.extensions["kneeguard"]
        try:
            for name, q in runtime.queue.queues.items():
                QUEUE_DEPTH.labels(name).set(q.count)
        except Exception:  # a down Redis must not break the scrape; /readyz reports it
            pass
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
