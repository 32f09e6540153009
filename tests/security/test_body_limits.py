"""Item 9: small caps on the unauthenticated receivers and the login form, enforced before the
body is read. Before: a 70 MB chunked POST to /webhooks/strava was read to 64 MiB before its 413,
and a 60 MB form POST to /login was parsed and answered 200."""

from __future__ import annotations

import io
import re

import pytest

MB = 1024 * 1024


@pytest.fixture
def settings(base_settings):
    return base_settings.with_overrides(strava_client_id="1", strava_client_secret="s",
                                        garmin_client_id="gc-id", garmin_client_secret="s")


class Endless(io.RawIOBase):
    """A request body stream of `total` bytes that counts how many the server side read."""

    def __init__(self, total: int) -> None:
        self.total, self.read_bytes = total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.total - self.read_bytes)
        buffer[:n] = b"[" * n
        self.read_bytes += n
        return n


def _chunked(client, path: str, total: int, **headers):
    """A chunked POST (no Content-Length) as gunicorn hands it over: input marked terminated."""
    stream = Endless(total)
    r = client.post(path, environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True},
                    headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json",
                             **headers})
    return r, stream


def test_a_huge_chunked_push_is_refused_without_being_read(client, runtime):
    r, stream = _chunked(client, "/webhooks/strava", 70 * MB)
    assert r.status_code == 413
    assert stream.read_bytes <= runtime.settings.max_webhook_bytes + 64 * 1024, stream.read_bytes
    r, stream = _chunked(client, "/webhooks/garmin/activities", 70 * MB,
                         **{"garmin-client-id": "gc-id"})
    assert r.status_code == 413
    assert stream.read_bytes <= 11 * MB, stream.read_bytes
    r, stream = _chunked(client, "/login", 70 * MB)
    assert r.status_code == 413
    assert stream.read_bytes <= 1 * MB, stream.read_bytes


def test_a_chunked_post_to_no_route_is_not_read(client):
    r, stream = _chunked(client, "/webhooks/nowhere", 70 * MB)
    assert r.status_code == 404 and stream.read_bytes == 0


def test_declared_oversize_bodies_are_refused_before_reading(client):
    big = 60 * MB
    for path, headers in [("/login", {}), ("/webhooks/strava", {}),
                          ("/webhooks/garmin/deregistrations", {"garmin-client-id": "gc-id"})]:
        stream = Endless(big)
        r = client.post(path, headers={**headers,
                                       "Content-Type": "application/x-www-form-urlencoded"},
                        environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": str(big)})
        assert r.status_code == 413, (path, r.status_code)
        if path != "/login":  # the login page answers with its HTML error page
            assert r.get_json()["error"]["code"] == "payload_too_large"
        assert stream.read_bytes == 0, path


def test_a_60_mb_login_form_is_a_413(client):
    r = client.post("/login", data={"credential": "kg_x",
                                    "file": (io.BytesIO(b"x" * (60 * MB)), "big.bin")})
    assert r.status_code == 413


def test_a_small_login_form_is_still_read(client):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"credential": "kg_not-a-token", "pad": "x" * 1000,
                                    "csrf_token": csrf})
    assert r.status_code == 401  # read and judged (CSRF passed, token wrong), not refused for size
