"""Loopback servers for the notify tests: a canary that counts hits, a redirector pointing at it,
a webhook receiver that verifies Standard Webhooks signatures, and big/endless responders."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook, WebhookVerificationError

from tests.fakes.server import (
    LiveServer,
    free_port,  # noqa: F401  (re-exported: tests import it from here)
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


@dataclass
class Recorder:
    """Requests seen by a loopback server (method, path, Host header, headers, body)."""

    hits: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, environ: dict[str, Any]) -> dict[str, Any]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        hit = {"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
               "host": environ.get("HTTP_HOST"), "headers": headers, "body": body}
        with self.lock:
            self.hits.append(hit)
        return hit


@dataclass
class Server:
    url: str
    port: int
    recorder: Recorder


def _serve(app: WSGIApp, recorder: Recorder) -> Iterator[Server]:
    with LiveServer(app) as srv:
        yield Server(srv.url, int(srv.url.rsplit(":", 1)[1]), recorder)


@pytest.fixture
def canary() -> Iterator[Server]:
    rec = Recorder()

    def app(environ, start_response):
        rec.record(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"canary hit"]

    yield from _serve(app, rec)


@pytest.fixture
def redirector(canary: Server) -> Iterator[Server]:
    """`/301`, `/302`, `/307`, `/308` answer that status with Location: the canary."""
    rec = Recorder()
    reasons = {"301": "Moved Permanently", "302": "Found", "307": "Temporary Redirect",
               "308": "Permanent Redirect"}

    def app(environ, start_response):
        rec.record(environ)
        code = environ["PATH_INFO"].strip("/") or "302"
        start_response(f"{code} {reasons.get(code, 'Found')}",
                       [("Location", canary.url + "/redirected"), ("Content-Length", "0")])
        return [b""]

    yield from _serve(app, rec)


@dataclass
class Receiver(Server):
    """Verifies every request with each configured secret; answers `status` (settable)."""

    secrets: list[str] = field(default_factory=list)
    status: str = "204 No Content"
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    verified_by: list[list[int]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Recorder()
    state = Receiver("", 0, rec)

    def app(environ, start_response):
        hit = rec.record(environ)
        ok = []
        for i, secret in enumerate(state.secrets):
            try:
                Webhook(secret).verify(hit["body"], hit["headers"])
                ok.append(i)
            except (WebhookVerificationError, ValueError):
                pass
        state.verified_by.append(ok)
        status = state.status if ok else "400 Bad Request"
        start_response(status, [("Content-Type", "text/plain"), *state.extra_headers])
        return [b"" if status.startswith("204") else status.encode()]

    for srv in _serve(app, rec):
        state.url, state.port = srv.url, srv.port
        yield state


@pytest.fixture
def big_responder() -> Iterator[Server]:
    """`/10mb` sends 10 MB with a Content-Length; `/endless` streams until the client leaves."""
    rec = Recorder()
    chunk = b"x" * 65536

    def app(environ, start_response):
        rec.record(environ)
        if environ["PATH_INFO"] == "/endless":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter(lambda: chunk, None)
        start_response("200 OK", [("Content-Length", str(160 * len(chunk)))])
        return (chunk for _ in range(160))

    yield from _serve(app, rec)


def fake_resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A resolver hook: names from `table`, nothing else (tests never touch real DNS)."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def self_signed(tmp: Path, hostname: str) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for `hostname` (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
