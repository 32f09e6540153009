"""Integrator receivers on fixed ports (80, 443 with TLS) that verify with `standardwebhooks`."""

from __future__ import annotations

import errno
import os
import ssl
import threading

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.fakes.server import _QuietHandler


class VerifyingReceiver:
    """Records every request; `verified` holds the payloads that verified with the secret."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.ssl_context = host, port, ssl_context
        self.secret: str = "whsec_" + "A" * 43  # replaced by the endpoint's secret
        self.secrets: dict[str, str] = {}  # path → secret, when several endpoints share a server
        self.verified: list[dict] = []
        self.by_path: dict[str, list[dict]] = {}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.requests.append({"host": headers.get("host"), "path": request.path})
            try:
                payload = Webhook(self.secrets.get(request.path, self.secret)).verify(body, headers)
                self.verified.append(payload)
                self.by_path.setdefault(request.path, []).append(payload)
            except (WebhookVerificationError, ValueError, TypeError, RuntimeError):
                return Response("bad signature", status=400)(environ, start_response)
        return Response("", status=204)(environ, start_response)

    def start(self) -> VerifyingReceiver:
        if self.port < 1024 and os.geteuid() != 0:
            pytest.skip(f"binding port {self.port} needs root (CI runs as root)")
        try:
            self._server = make_server(self.host, self.port, self._app, threaded=True,
                                       request_handler=_QuietHandler, ssl_context=self.ssl_context)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                pytest.skip(f"port {self.port} on {self.host} is not available: {exc}")
            raise
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> VerifyingReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx
