"""Loopback servers for the notify tests: a canary that counts hits, a redirector pointing at it,
the webhook receiver (testkit's) that verifies Standard Webhooks signatures, and big/endless
responders."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from service.infra.loopback import LiveServer
from testkit.receiver import Receiver, Recorder

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


@dataclass
class Server:
    url: str
    port: int
    recorder: Recorder


def _serve(app: WSGIApp, recorder: Recorder) -> Iterator[Server]:
    with LiveServer(app) as srv:
        yield Server(srv.url, srv.bound_port, recorder)


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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The loopback webhook receiver; set `secrets` (each is tried, `verified_by` says which
    verified) and `status`."""
    with Receiver() as rx:
        yield rx


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
