"""Run any WSGI app on loopback in a background thread, on a free port.

    with LiveServer(app) as srv:
        requests.get(srv.url + "/ping")

or `srv = LiveServer(app).start(); ...; srv.stop()`. The server is threaded so a fake can call back
into another LiveServer (e.g. the Strava subscription handshake) while serving a request. `host` may
be an IPv6 address (`::1`) and `ssl_context` makes it HTTPS.

It lives in the package, not with the tests, because the provider sandboxes
(`integrations/<provider>/fake/`) serve themselves with it; the tests, the benches and `testkit`
use the same one.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests and benches would drown in it."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        return


class LiveServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port  # 0 = let the OS pick a free port
        self.ssl_context = ssl_context
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def bound_port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server.server_port

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        return f"{scheme}://{host}:{self.bound_port}"

    def start(self) -> LiveServer:
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler, ssl_context=self.ssl_context)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"LiveServer:{self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Served:
    """Lifecycle for a fake provider that serves itself through `self._server` (a LiveServer)."""

    _server: LiveServer

    def start(self):
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._server.url


def free_port() -> int:
    """The one free-port helper: a loopback port nothing listens on (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
