"""Real integrator URLs have no port: `https://hooks.example.com/kneeguard`. Receivers on
127.0.0.1:80 and :443 (TLS from a throwaway CA the service trusts through WEBHOOK_CA_BUNDLE) are
reached as `http://localhost/…` and `https://localhost/…`, through the whole delivery path, and
every delivery verifies with the `standardwebhooks` package.

Ports 80 and 443 may be taken on this machine (a web server, another test process running these
tests): each test that needs them runs in a network namespace of its own (testkit/netns.py, root),
where they are always free. Without namespaces, a taken port is a skip that names it.
These tests use the embedded backend whatever DATABASE_URL says: SQLite and the in-process queue
live in this process, so the namespace cannot cut them off from PostgreSQL or Redis on the host's
loopback (the delivery path on PostgreSQL + Redis is covered by the other delivery tests)."""

from __future__ import annotations

import errno
import os
import socket

import pytest
from sqlalchemy import select

from service.domain import endpoints as svc
from service.infra import jobs
from service.infra.loopback import free_port
from service.infra.netguard import guarded_post
from service.models import Delivery, DeliveryAttempt
from testkit import netns
from testkit.receiver import Receiver
from testkit.tls import make_ca_and_server, server_tls

OWN_NETWORK = netns.available()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_ca_and_server(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def settings(embedded_settings, tls):
    return embedded_settings.with_overrides(webhook_allow_loopback=True, webhook_ca_bundle=str(tls[0]))


def localhost_address() -> str:
    """Where `localhost` resolves first here (the address the guard pins to)."""
    return socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)[0][4][0]


def with_own_ports(test):
    """Run `test()` where ports 80 and 443 are free: in a network namespace of its own."""
    return netns.run_isolated(test) if OWN_NETWORK else test()


def on(host: str, port: int, ssl_context=None) -> Receiver:
    """A started receiver on a fixed port; without a namespace of its own, the test is skipped
    where that port cannot be had."""
    if port < 1024 and os.geteuid() != 0 and not OWN_NETWORK:
        pytest.skip(f"binding port {port} needs root (CI runs as root)")
    try:
        return Receiver(host, port, ssl_context).start()
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            pytest.skip(f"port {port} on {host} is not available: {exc}")
        raise


def deliver_test_event(runtime, rx: Receiver, url: str) -> str:
    """Register `url` like an integrator would, send the test event through the deliver job."""
    with runtime.db.session() as s:
        ep, rx.secret = svc.create(s, runtime.box, url=url, events=["finding.created"],
                                   allow_loopback=True)
        message_id = svc.send_test(s, ep).id
    jobs.deliver(runtime, message_id)
    runtime.queue.drain()
    return message_id


def outcome_of(runtime, message_id: str) -> tuple[str, list[str | None]]:
    with runtime.db.session() as s:
        d = s.get(Delivery, message_id)
        errors = s.scalars(select(DeliveryAttempt.error)
                           .where(DeliveryAttempt.delivery_id == message_id)).all()
        return d.status, list(errors)


@pytest.mark.parametrize("scheme, port", [("http", 80), ("https", 443)])
def test_a_portless_url_receives_a_delivery_that_verifies(runtime, tls, scheme, port):
    ctx = server_tls(str(tls[1]), str(tls[2])) if scheme == "https" else None

    def test():
        with on(localhost_address(), port, ctx) as rx:
            return rx, deliver_test_event(runtime, rx, f"{scheme}://localhost/kneeguard")

    rx, message_id = with_own_ports(test)
    assert outcome_of(runtime, message_id) == ("sent", [None])
    assert [m["type"] for m in rx.verified] == ["endpoint.test"]
    # The Host header carries no port for the scheme's default port, like any browser would send.
    assert rx.requests == [{"host": "localhost", "path": "/kneeguard"}]


def test_https_refuses_a_certificate_the_service_does_not_trust(tls):
    """Without the bundle (certifi's CAs only) the throwaway CA is not trusted: a failed attempt,
    never an unverified send."""
    ctx = server_tls(str(tls[1]), str(tls[2]))

    def test():
        with on(localhost_address(), 443, ctx) as rx:
            with pytest.raises(Exception) as caught:
                guarded_post("https://localhost/kneeguard", b"{}", {}, allow_loopback=True)
        assert "tls" in str(caught.value)
        assert rx.requests == []

    with_own_ports(test)


def test_a_pinned_name_keeps_its_host_and_certificate_check_without_a_port(tls):
    """DNS answers 127.0.0.1 for another name: the request is pinned to that checked address,
    the Host header keeps the name, and TLS checks the certificate against the name (not the IP),
    so a certificate for `localhost` does not pass for `rebind.test`."""
    ip = "127.0.0.1"
    resolver = lambda host, port: [ip]  # noqa: E731

    def test():
        with on(ip, 80) as rx:
            resp = guarded_post("http://rebind.test/x", b"{}", {}, allow_loopback=True,
                                resolver=resolver)
        assert resp.status == 400 and resp.ip == ip  # reached; our empty body does not verify
        assert rx.requests == [{"host": "rebind.test", "path": "/x"}]
        with on(ip, 443, server_tls(str(tls[1]), str(tls[2]))) as rx:
            with pytest.raises(Exception) as caught:
                guarded_post("https://rebind.test/x", b"{}", {}, allow_loopback=True,
                             resolver=resolver, verify=str(tls[0]))
        assert "tls" in str(caught.value) and rx.requests == []

    with_own_ports(test)


@pytest.mark.parametrize("url", ["http://[::1]:{port}/hook", "https://[::1]:{port}/hook"])
def test_ipv6_literal_urls_receive_deliveries(runtime, tls, url):
    port = free_port()
    ctx = server_tls(str(tls[1]), str(tls[2])) if url.startswith("https") else None
    with on("::1", port, ctx) as rx:
        message_id = deliver_test_event(runtime, rx, url.format(port=port))
    assert outcome_of(runtime, message_id) == ("sent", [None])
    assert [m["type"] for m in rx.verified] == ["endpoint.test"]
    assert rx.requests[0]["host"] == f"[::1]:{port}"


def test_ipv6_literal_without_a_port(runtime):
    def test():
        with on("::1", 80) as rx:
            return rx, deliver_test_event(runtime, rx, "http://[::1]/hook")

    rx, message_id = with_own_ports(test)
    assert outcome_of(runtime, message_id) == ("sent", [None])
    assert rx.requests == [{"host": "[::1]", "path": "/hook"}] and len(rx.verified) == 1
