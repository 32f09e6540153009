"""LiveServer, the loopback server the provider sandboxes, the receiver and the tests run on."""

from __future__ import annotations

import pytest
import requests

from service.infra.loopback import LiveServer


def test_live_server_serves_on_loopback_and_stops():
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    srv = LiveServer(hello).start()
    url = srv.url
    assert url.startswith("http://127.0.0.1:")
    assert requests.get(url, timeout=5).text == "hi"
    srv.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
