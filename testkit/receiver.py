"""The one loopback receiver: an integrator's webhook endpoint (or a provider's notification target)
on 127.0.0.1, ::1 or a fixed port, plain or TLS. It records every request and verifies each one
with `standardwebhooks`, as an integrator would.

    with Receiver() as rx:                      # a free port on 127.0.0.1
        rx.secret = endpoint_secret             # or rx.secrets = [new, old]; rx.path_secrets[...]
        ... deliver ...
    rx.verified, rx.received, rx.rejected, rx.hits

Answers, in order: `failures_left` > 0 → 503 (an outage); `status_override` → that status without
verifying (a 410 Gone endpoint); a signature that no secret verifies → 400; else `status` with
`extra_headers`. `verify=False` makes it a plain recorder that answers `status` to everything (the
target of a provider's notifications, or a canary proving that nothing reached it).
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug.wrappers import Request, Response

from service.infra.loopback import LiveServer


@dataclass
class Recorder:
    """Every request a loopback server saw: method, path, Host header, headers (lower-case), body."""

    hits: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, environ: dict[str, Any]) -> dict[str, Any]:
        request = Request(environ)
        headers = {k.lower(): v for k, v in request.headers.items()}
        hit = {"method": request.method, "path": request.path, "host": headers.get("host"),
               "headers": headers, "body": request.get_data()}
        with self.lock:
            self.hits.append(hit)
        return hit


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None, *, verify: bool = True,
                 status: str = "204 No Content") -> None:
        self.verify = verify
        self.secrets: list[str] = []  # each is tried; `verified_by` says which verified
        self.path_secrets: dict[str, str] = {}  # path → secret, when endpoints share a server
        self.status = status
        self.extra_headers: list[tuple[str, str]] = []
        self.failures_left = 0
        self.status_override: int | None = None
        self.recorder = Recorder()
        self.received: list[dict[str, Any]] = []  # accepted messages: id, path, payload, raw
        self.verified_by: list[list[int]] = []
        self.rejected = 0
        self.server = LiveServer(self._app, host, port, ssl_context)

    # -- what a test sets ------------------------------------------------------------------------

    @property
    def secret(self) -> str:
        return self.secrets[0]

    @secret.setter
    def secret(self, value: str) -> None:
        self.secrets = [value]

    # -- what a test reads -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.bound_port

    @property
    def hits(self) -> list[dict[str, Any]]:
        return self.recorder.hits

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [{"host": h["host"], "path": h["path"]} for h in self.hits]

    @property
    def ids_seen(self) -> list[str]:
        """The webhook-id of every request, accepted or not (a retry repeats its id)."""
        return [h["headers"].get("webhook-id", "") for h in self.hits]

    @property
    def verified(self) -> list[dict[str, Any]]:
        return [m["payload"] for m in self.received]

    @property
    def by_path(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for m in self.received:
            grouped.setdefault(m["path"], []).append(m["payload"])
        return grouped

    # -- serving ---------------------------------------------------------------------------------

    def _verifying(self, hit: dict[str, Any]) -> dict[str, Any] | None:
        """The payload if a secret verifies the request (recording which ones did), else None."""
        path_secret = self.path_secrets.get(hit["path"])
        candidates = [path_secret] if path_secret else self.secrets
        payload, ok = None, []
        for i, secret in enumerate(candidates):
            try:
                payload = Webhook(secret).verify(hit["body"], hit["headers"])
                ok.append(i)
            except (WebhookVerificationError, ValueError, TypeError, RuntimeError):
                continue
        self.verified_by.append(ok)
        return payload

    def _answer(self, hit: dict[str, Any]) -> Response:
        if self.failures_left > 0:
            self.failures_left -= 1
            return Response("down", status=503)
        if self.status_override:
            return Response("gone", status=self.status_override)
        payload = self._verifying(hit) if self.verify else None
        if self.verify and payload is None:
            self.rejected += 1
            return Response("bad signature", status=400)
        answer = Response(b"" if self.status.startswith("204") else self.status.encode(),
                          status=self.status, headers=self.extra_headers)
        if self.verify and answer.status_code < 300:
            self.received.append({"id": hit["headers"].get("webhook-id"), "path": hit["path"],
                                  "payload": payload, "raw": json.loads(hit["body"])})
        return answer

    def _app(self, environ, start_response):
        hit = self.recorder.record(environ)
        with self.recorder.lock:
            answer = self._answer(hit)
        return answer(environ, start_response)

    def start(self) -> Receiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
