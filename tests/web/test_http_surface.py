"""Health probes, the one error shape, and request-size limits."""

import threading

import pytest
import requests
from werkzeug.serving import make_server

from service import create_app


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_healthz_answers_without_touching_dependencies(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_queue(client, runtime):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.get_json()["checks"] == {"database": "ok", "queue": "ok"}
    assert r.get_json()["queue"] == ("embedded" if runtime.queue.embedded else "redis")


def test_readyz_is_503_with_the_error_shape_when_redis_is_down(settings):
    app = create_app(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert_error_shape(r.get_json(), "unavailable")
    assert r.get_json()["error"]["details"]["queue"].startswith("error")
    app.extensions["kneeguard"].close()


def test_unknown_path_is_a_json_404(client):
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and r.is_json
    assert_error_shape(r.get_json(), "not_found")


def test_wrong_method_is_a_json_405_with_allow(client):
    r = client.delete("/healthz")
    assert r.status_code == 405
    assert_error_shape(r.get_json(), "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_an_unexpected_exception_is_a_json_500_without_internals(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    r = app.test_client().get("/boom")
    assert r.status_code == 500
    assert_error_shape(r.get_json(), "internal_error")
    assert "secret" not in r.get_data(as_text=True)


def test_a_declared_body_over_the_limit_is_a_json_413(settings):
    app = create_app(settings.with_overrides(max_upload_bytes=2048))
    r = app.test_client().post("/healthz", data=b"x" * 4096)
    assert r.status_code == 413
    assert_error_shape(r.get_json(), "payload_too_large")
    app.extensions["kneeguard"].close()


def test_a_chunked_body_without_a_terminated_stream_asks_for_a_length(client):
    r = client.post("/healthz", data=b"abc", headers={"Transfer-Encoding": "chunked"},
                    environ_overrides={"CONTENT_LENGTH": None})
    assert r.status_code == 411
    assert_error_shape(r.get_json(), "length_required")


@pytest.fixture
def live_small_limit(settings):
    app = create_app(settings.with_overrides(max_upload_bytes=2048))

    @app.post("/echo-size")
    def echo_size():
        from flask import request
        return {"size": len(request.get_data())}

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["kneeguard"].close()


def test_a_chunked_body_over_the_limit_is_413_never_a_truncated_200(live_small_limit):
    chunks = (b"y" * 1024 for _ in range(8))  # a generator makes requests send it chunked
    r = requests.post(f"{live_small_limit}/echo-size", data=chunks, timeout=10)
    assert r.status_code == 413
    assert_error_shape(r.json(), "payload_too_large")


def test_a_chunked_body_under_the_limit_arrives_whole(live_small_limit):
    chunks = (b"y" * 500 for _ in range(3))
    r = requests.post(f"{live_small_limit}/echo-size", data=chunks, timeout=10)
    assert r.status_code == 200 and r.json() == {"size": 1500}


def test_metrics_are_exposed_for_prometheus(client):
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert b"kneeguard_http_requests_total" in r.data
    assert b'kneeguard_queue_depth{queue="ingest"}' in r.data
