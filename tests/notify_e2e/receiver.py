"""An integrator's receiver on loopback: verifies every request with standardwebhooks."""

from __future__ import annotations

import json
import threading

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug.wrappers import Request, Response

from tests.fakes.server import LiveServer


class Receiver:
    def __init__(self, secret: str | None = None) -> None:
        self.secrets: list[str] = [secret] if secret else []
        self.failures_left = 0  # answer 503 this many times (an outage)
        self.status_override: int | None = None  # e.g. 410
        self.received: list[dict] = []  # verified messages
        self.rejected = 0  # signature did not verify
        self.hits = 0
        self.ids_seen: list[str] = []
        self._lock = threading.Lock()
        self.server = LiveServer(self._app)

    @property
    def url(self) -> str:
        return self.server.url + "/hook"

    def _verified(self, body: bytes, headers: dict) -> dict | None:
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except (WebhookVerificationError, ValueError):
                continue
        return None

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.hits += 1
            self.ids_seen.append(headers.get("webhook-id", ""))
            if self.status_override:
                return Response("gone", status=self.status_override)(environ, start_response)
            if self.failures_left > 0:
                self.failures_left -= 1
                return Response("down", status=503)(environ, start_response)
            payload = self._verified(body, headers)
            if payload is None:
                self.rejected += 1
                return Response("bad signature", status=400)(environ, start_response)
            self.received.append({"id": headers["webhook-id"], "payload": payload,
                                  "raw": json.loads(body)})
        return Response("ok", status=200)(environ, start_response)

    def __enter__(self) -> Receiver:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
